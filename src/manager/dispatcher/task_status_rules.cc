#include "absl/strings/str_cat.h"
#include "manager/dispatcher/assignment_source.h"
#include "manager/dispatcher/task_status_limits.h"

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

std::string TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  constexpr std::string_view kEllipsis = "\u2026";
  if (max_bytes < kEllipsis.size()) return "";
  size_t cut = max_bytes - kEllipsis.size();
  // Back up over continuation bytes (10xxxxxx) so the cut is at a character start.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  std::string out(text.substr(0, cut));
  out.append(kEllipsis);
  return out;
}

TaskStatus BoundedTaskStatus(TaskStatus status) {
  status.message = TruncateUtf8(status.message, kMaxTaskStatusMessageBytes);
  status.err = TruncateUtf8(status.err, kMaxTaskStatusErrBytes);
  if (status.container) {
    status.container->container_id =
        TruncateUtf8(status.container->container_id, kMaxContainerIdBytes);
  }
  return status;
}

bool SameReportedStatus(const TaskStatus& stored, const TaskStatus& reported) {
  if (stored.state != reported.state || stored.message != reported.message ||
      stored.err != reported.err ||
      stored.container.has_value() != reported.container.has_value()) {
    return false;
  }
  if (!stored.container) return true;
  const ContainerStatus& a = *stored.container;
  const ContainerStatus& b = *reported.container;
  return a.container_id == b.container_id && a.pid == b.pid && a.exit_code == b.exit_code;
}

}  // namespace capsule::dispatcher
