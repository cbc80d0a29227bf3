#include "manager/controlapi/object_update.h"

namespace capsule::controlapi {
namespace {

// One loop for both kinds: Decode/Encode/name differ.
template <typename T>
StatusOr<int64_t> ReadModifyWrite(store::Store& store, const char* kind, const char* noun,
                                  const std::string& id, StatusOr<T> (*decode)(std::string_view),
                                  std::string (*encode)(const T&),
                                  const std::string& (*name_of)(const T&),
                                  const std::function<Status(T&)>& mutate) {
  for (int attempt = 0; attempt < kObjectUpdateAttempts; ++attempt) {
    StatusOr<store::StoredRecord> cur = store.Get(kind, id);
    if (absl::IsNotFound(cur.status())) {
      return absl::NotFoundError(std::string(noun) + " " + id + " not found");
    }
    RETURN_IF_ERROR(cur.status());
    ASSIGN_OR_RETURN(T object, decode(cur->record.meta));
    RETURN_IF_ERROR(mutate(object));
    store::Record rec{encode(object), {}};
    StatusOr<int64_t> rev = store.Update({kind, id, name_of(object)}, cur->mod_revision, rec);
    if (absl::IsAborted(rev.status())) continue;  // someone else wrote first: read again
    if (absl::IsNotFound(rev.status())) {
      return absl::NotFoundError(std::string(noun) + " " + id + " not found");
    }
    return rev;
  }
  return absl::AbortedError(std::string(noun) + " " + id +
                            " changed concurrently too often; update not applied");
}

const std::string& NoName(const Task&) {
  static const std::string* empty = new std::string();
  return *empty;
}
const std::string& ServiceName(const Service& s) { return s.spec.name; }

}  // namespace

StatusOr<int64_t> UpdateTask(store::Store& store, const std::string& id,
                             const std::function<Status(Task&)>& mutate) {
  return ReadModifyWrite<Task>(store, kTasksKind, "task", id, &DecodeTaskMeta, &EncodeTaskMeta,
                               &NoName, mutate);
}

StatusOr<int64_t> UpdateService(store::Store& store, const std::string& id,
                                const std::function<Status(Service&)>& mutate) {
  return ReadModifyWrite<Service>(store, kServicesKind, "service", id, &DecodeServiceMeta,
                                  &EncodeServiceMeta, &ServiceName, mutate);
}

StatusOr<int64_t> CreateTask(store::Store& store, const Task& task) {
  return store.Create({kTasksKind, task.id, ""}, store::Record{EncodeTaskMeta(task), {}});
}

}  // namespace capsule::controlapi
