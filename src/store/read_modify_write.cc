#include "store/read_modify_write.h"

#include <optional>

namespace capsule::store {
namespace {

// One attempt: read, mutate, write at `version` (or at the revision read when it is unset).
StatusOr<int64_t> ReadModifyWrite(Store& store, const std::string& kind, const std::string& id,
                                  std::optional<int64_t> version, const MutateFn& mutate) {
  ASSIGN_OR_RETURN(StoredRecord object, store.Get(kind, id));
  const int64_t read = object.mod_revision;
  ASSIGN_OR_RETURN(Mutation m, mutate(object));
  if (m == Mutation::kKeep) return read;
  // ref.name plays no part in an update (store.h).
  return store.Update({kind, id, ""}, version.value_or(read), object.record);
}

}  // namespace

Status OutOfSequence() { return absl::UnknownError("update out of sequence"); }

StatusOr<int64_t> UpdateAtVersion(Store& store, const std::string& kind, const std::string& id,
                                  int64_t version, const MutateFn& mutate) {
  StatusOr<int64_t> rev = ReadModifyWrite(store, kind, id, version, mutate);
  if (absl::IsAborted(rev.status())) return OutOfSequence();
  return rev;
}

StatusOr<int64_t> UpdateLatest(Store& store, const std::string& kind, const std::string& id,
                               const MutateFn& mutate) {
  return RetryOnConflict([&] { return ReadModifyWrite(store, kind, id, std::nullopt, mutate); });
}

StatusOr<int64_t> RetryOnConflict(const std::function<StatusOr<int64_t>()>& attempt) {
  for (int i = 0; i < kWriteAttempts; ++i) {
    StatusOr<int64_t> rev = attempt();
    if (!absl::IsAborted(rev.status())) return rev;
  }
  return OutOfSequence();
}

}  // namespace capsule::store
