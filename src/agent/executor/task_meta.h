// The non-secret facts about a task that the executor needs after Prepare, also after a
// capsuled restart: kept in the bundle as meta.json (with the task's service, slot and image,
// for whoever inspects the bundle by hand).
#pragma once

#include <chrono>

#include "agent/executor/executor.h"
#include "agent/executor/layout.h"
#include "common/status.h"

namespace capsule::agent {

struct TaskMeta {
  std::chrono::nanoseconds stop_grace_period{std::chrono::seconds(10)};
};

Status WriteTaskMeta(const TaskPaths& paths, const TaskRun& run);
// Defaults for whatever is missing or unreadable.
TaskMeta ReadTaskMeta(const TaskPaths& paths);

}  // namespace capsule::agent
