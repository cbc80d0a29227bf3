#include "absl/strings/str_cat.h"
#include "manager/dispatcher/assignment_source.h"

namespace capsule::dispatcher {

Status ApplyNodeTaskStatus(const std::string& node_id, const TaskStatus& status, Task* task) {
  if (task->node_id != node_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("task ", task->id, " is not assigned to node ", node_id));
  }
  if (status.state < TaskState::kAccepted) {
    return absl::InvalidArgumentError(
        absl::StrCat("a node cannot report state ", TaskStateName(status.state)));
  }
  if (status.state < task->status.state) {
    return absl::FailedPreconditionError(absl::StrCat("task ", task->id, " cannot move from ",
                                                      TaskStateName(task->status.state),
                                                      " back to ", TaskStateName(status.state)));
  }
  task->status = status;
  return absl::OkStatus();
}

}  // namespace capsule::dispatcher
