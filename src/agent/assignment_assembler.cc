#include "agent/assignment_assembler.h"

#include <utility>

namespace capsule::agent {
namespace {

template <typename T>
void Append(google::protobuf::RepeatedPtrField<T>* from,
            google::protobuf::RepeatedPtrField<T>* to) {
  for (T& item : *from) *to->Add() = std::move(item);
}

}  // namespace

StatusOr<bool> AssignmentAssembler::Add(api::AssignmentChanges part, api::AssignmentChanges* out) {
  if (parts_ == 0 && !part.more()) {
    *out = std::move(part);
    return true;
  }
  if (parts_ > 0 && part.full_set() != pending_.full_set()) {
    Reset();
    return absl::InvalidArgumentError("assignment parts of one change disagree on full_set");
  }
  pending_bytes_ += part.ByteSizeLong();
  if (pending_bytes_ > max_pending_bytes_) {
    Reset();
    return absl::InvalidArgumentError("assignment parts exceed the pending limit");
  }
  if (parts_++ == 0) pending_.set_full_set(part.full_set());
  Append(part.mutable_tasks(), pending_.mutable_tasks());
  Append(part.mutable_removed_task_ids(), pending_.mutable_removed_task_ids());
  Append(part.mutable_secrets(), pending_.mutable_secrets());
  Append(part.mutable_removed_secret_ids(), pending_.mutable_removed_secret_ids());
  if (part.more()) return false;
  *out = std::move(pending_);
  out->set_more(false);
  Reset();
  return true;
}

void AssignmentAssembler::Reset() {
  pending_.Clear();
  pending_bytes_ = 0;
  parts_ = 0;
}

}  // namespace capsule::agent
