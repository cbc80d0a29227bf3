// The non-secret facts about a task that the executor needs after Prepare, also after a
// capsuled restart: kept in the bundle as meta.json (with the task's service, slot and image,
// for whoever inspects the bundle by hand).
#pragma once

#include <chrono>
#include <string>

#include "agent/executor/executor.h"
#include "agent/executor/layout.h"
#include "common/status.h"

namespace capsule::agent {

struct TaskMeta {
  std::chrono::nanoseconds stop_grace_period{std::chrono::seconds(10)};
  // The image the rootfs is built on: its ID, or (meta written before IDs were) the reference.
  std::string image;
};

// image_id: the ID run.image resolved to when the task was prepared.
Status WriteTaskMeta(const TaskPaths& paths, const TaskRun& run, const std::string& image_id);
// Defaults for whatever is missing or unreadable.
TaskMeta ReadTaskMeta(const TaskPaths& paths);

}  // namespace capsule::agent
