// Task lookups of the control API. Tasks are written by the orchestrator and the dispatcher
// (object_update.h), never through the Docker API; this is the read side. Thread-safe.
#pragma once

#include <string>

#include "common/status.h"
#include "store/read_model.h"

namespace capsule::controlapi {

// swarmkit's naming.Task: "<service name>.<slot>.<task id>", or with the node ID in place of
// the slot for global services (slot 0). The CLI shows "<service>.<slot>".
std::string TaskName(const Task& task, const std::string& service_name);

// The engine's lookup (no gRPC prefix): full ID, then exact task name, then unique ID
// prefix. NotFound "task <ref> not found"; InvalidArgument "task <ref> is ambiguous (N
// matches found)".
StatusOr<store::TaskEntry> ResolveTask(const store::ReadModel& reads, const std::string& ref);

}  // namespace capsule::controlapi
