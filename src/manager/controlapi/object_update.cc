#include "manager/controlapi/object_update.h"

#include "store/read_modify_write.h"

namespace capsule::controlapi {

StatusOr<int64_t> UpdateTask(store::Store& store, const std::string& id,
                             const std::function<Status(Task&)>& mutate) {
  StatusOr<int64_t> rev = store::UpdateLatest(
      store, kTasksKind, id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(Task task, DecodeTaskMeta(cur.record.meta));
        RETURN_IF_ERROR(mutate(task));
        cur.record.meta = EncodeTaskMeta(task);
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return absl::NotFoundError("task " + id + " not found");
  return rev;
}

}  // namespace capsule::controlapi
