#include "manager/dispatcher/assignment_parts.h"

#include <utility>

namespace capsule::dispatcher {
namespace {

// What one item adds to its part's encoding: the item, its length prefix and field tag.
constexpr size_t kItemOverhead = 1 + 10;
// full_set and more, each a tag and a byte.
constexpr size_t kPartOverhead = 4;

class PartWriter {
 public:
  PartWriter(bool full_set, size_t budget) : full_set_(full_set), budget_(budget) { Start(); }

  // The part the next item of `bytes` bytes goes into (a new one when it would not fit).
  api::AssignmentChanges& PartFor(size_t bytes) {
    const size_t cost = bytes + kItemOverhead;
    if (used_ > kPartOverhead && used_ + cost > budget_) Start();
    used_ += cost;
    return parts_.back();
  }

  std::vector<api::AssignmentChanges> Finish() && {
    for (size_t i = 0; i + 1 < parts_.size(); ++i) parts_[i].set_more(true);
    return std::move(parts_);
  }

 private:
  void Start() {
    parts_.emplace_back().set_full_set(full_set_);
    used_ = kPartOverhead;
  }
  const bool full_set_;
  const size_t budget_;
  size_t used_ = 0;
  std::vector<api::AssignmentChanges> parts_;
};

}  // namespace

std::vector<api::AssignmentChanges> SplitAssignments(api::AssignmentChanges changes,
                                                     size_t budget) {
  PartWriter out(changes.full_set(), budget);
  for (api::AssignedTask& t : *changes.mutable_tasks()) {
    *out.PartFor(t.ByteSizeLong()).add_tasks() = std::move(t);
  }
  for (std::string& id : *changes.mutable_removed_task_ids()) {
    out.PartFor(id.size()).add_removed_task_ids(std::move(id));
  }
  for (api::AssignedSecret& s : *changes.mutable_secrets()) {
    *out.PartFor(s.ByteSizeLong()).add_secrets() = std::move(s);
  }
  for (std::string& id : *changes.mutable_removed_secret_ids()) {
    out.PartFor(id.size()).add_removed_secret_ids(std::move(id));
  }
  return std::move(out).Finish();
}

}  // namespace capsule::dispatcher
