#include "manager/controlapi/object_update.h"

namespace capsule::controlapi {

StatusOr<int64_t> UpdateTask(store::Store& store, const std::string& id,
                             const std::function<StatusOr<store::Mutation>(Task&)>& mutate) {
  StatusOr<int64_t> rev = store::UpdateLatest(
      store, kTasksKind, id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(Task task, DecodeTaskMeta(cur.record.meta));
        ASSIGN_OR_RETURN(store::Mutation m, mutate(task));
        if (m == store::Mutation::kWrite) cur.record.meta = EncodeTaskMeta(task);
        return m;
      });
  if (absl::IsNotFound(rev.status())) return absl::NotFoundError("task " + id + " not found");
  return rev;
}

}  // namespace capsule::controlapi
