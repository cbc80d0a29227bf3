#include "objects/service_model.h"

#include <array>
#include <utility>

namespace capsule {
namespace {

constexpr std::array<std::pair<TaskState, const char*>, 14> kStateNames = {{
    {TaskState::kNew, "new"},
    {TaskState::kPending, "pending"},
    {TaskState::kAssigned, "assigned"},
    {TaskState::kAccepted, "accepted"},
    {TaskState::kPreparing, "preparing"},
    {TaskState::kReady, "ready"},
    {TaskState::kStarting, "starting"},
    {TaskState::kRunning, "running"},
    {TaskState::kComplete, "complete"},
    {TaskState::kShutdown, "shutdown"},
    {TaskState::kFailed, "failed"},
    {TaskState::kRejected, "rejected"},
    {TaskState::kRemove, "remove"},
    {TaskState::kOrphaned, "orphaned"},
}};

}  // namespace

const char* TaskStateName(TaskState s) {
  for (const auto& [state, name] : kStateNames) {
    if (state == s) return name;
  }
  return "unknown";
}

std::optional<TaskState> ParseTaskState(std::string_view name) {
  for (const auto& [state, n] : kStateNames) {
    if (name == n) return state;
  }
  return std::nullopt;
}

}  // namespace capsule
