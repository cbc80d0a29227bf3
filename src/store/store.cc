#include "store/store.h"

namespace capsule::store {

std::vector<StatusOr<int64_t>> Store::WriteBatch(std::vector<WriteRequest> writes) {
  std::vector<StatusOr<int64_t>> results;
  results.reserve(writes.size());
  for (const WriteRequest& w : writes) {
    if (!w.side.empty()) {
      results.push_back(absl::InvalidArgumentError("this store cannot write side values"));
      continue;
    }
    switch (w.kind) {
      case WriteRequest::Kind::kCreate:
        results.push_back(Create(w.ref, w.record));
        break;
      case WriteRequest::Kind::kUpdate:
        results.push_back(Update(w.ref, w.expected_revision, w.record));
        break;
      case WriteRequest::Kind::kDelete:
        results.push_back(Delete(w.ref, w.expected_revision));
        break;
    }
  }
  return results;
}

}  // namespace capsule::store
