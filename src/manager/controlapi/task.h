// Task reads of the control API. Tasks are written by the orchestrator and the dispatcher
// (object_update.h), never through the Docker API; this is the read side. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "manager/controlapi/list_filters.h"
#include "store/read_model.h"

namespace capsule::controlapi {

// Served from the read model once it has caught up with this manager's writes (Unavailable
// when it does not in time). Implemented in task_queries.cc.
class TaskApi {
 public:
  explicit TaskApi(const store::ReadModel& reads);

  // The tasks matching `filters`, in ID order. A service or node reference that does not
  // resolve fails with ResolveService's / ResolveNode's error; a desired state that is not
  // one → Internal "Invalid desired-state filter: '<s>'". `up_to_date` keeps the tasks that
  // are not dirty (orchestrator::IsTaskDirty), as swarmkit.
  StatusOr<std::vector<store::TaskEntry>> List(const TaskFilters& filters) const;

  // ResolveTask below.
  StatusOr<store::TaskEntry> Resolve(const std::string& ref) const;

  // The tasks of a service given by full ID, then name (case-insensitively), then unique ID
  // prefix (the logs of a service). NotFound "service <ref> not found"; InvalidArgument
  // "service <ref> is ambiguous (N matches found)".
  StatusOr<std::vector<store::TaskEntry>> TasksOfService(const std::string& service_ref) const;

  // A task by full ID, then unique ID prefix — not by name (the logs of a task). NotFound
  // "task <ref> not found"; InvalidArgument "task <ref> is ambiguous (N matches found)".
  StatusOr<store::TaskEntry> ResolveById(const std::string& ref) const;

 private:
  const store::ReadModel& reads_;
};

// swarmkit's naming.Task: "<service name>.<slot>.<task id>", or with the node ID in place of
// the slot for global services (slot 0). The CLI shows "<service>.<slot>".
std::string TaskName(const Task& task, const std::string& service_name);

// The engine's lookup (no gRPC prefix): full ID, then exact task name, then unique ID
// prefix. NotFound "task <ref> not found"; InvalidArgument "task <ref> is ambiguous (N
// matches found)".
StatusOr<store::TaskEntry> ResolveTask(const store::ReadModel& reads, const std::string& ref);

}  // namespace capsule::controlapi
