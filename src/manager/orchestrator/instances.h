// A service's instances: a replicated service's slots (1..N) or a global service's nodes.
// Each instance holds the IDs of its tasks (current and history), oldest first; tasks with
// desired state REMOVE no longer belong to any instance.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "manager/orchestrator/working_set.h"

namespace capsule::orchestrator {

struct Instance {
  uint64_t slot = 0;                  // replicated
  std::string node_id;                // global
  std::vector<std::string> task_ids;  // by CreatedAt, then ID
};

// Keyed by slot ("%020u" so the map orders numerically) or by node ID.
using Instances = std::map<std::string, Instance>;

std::string SlotKey(uint64_t slot);
Instances InstancesOf(const WorkingSet& ws, const std::string& service_id, bool global);

// The instance key a task belongs to.
std::string InstanceKeyOf(const Task& t, bool global);

// The newest task of an instance (by CreatedAt), or nullptr.
const Task* NewestTask(const WorkingSet& ws, const Instance& inst);
std::vector<const Task*> RunnableTasks(const WorkingSet& ws, const Instance& inst);

}  // namespace capsule::orchestrator
