// Task clean-up (swarmkit's task reaper):
// - tasks whose service is gone get desired state REMOVE;
// - a task that was told to stop while its node is down (or gone) and that had reached
//   the node (ASSIGNED..RUNNING) becomes ORPHANED: nobody can report it stopped, so it no
//   longer counts as running anywhere (and the node, when it returns, is not sent it);
// - a task with desired state REMOVE is deleted once it stopped (observed state past
//   RUNNING), never reached a node (before ASSIGNED), or its node is down or gone;
// - task history: each slot (global: each node) of a service keeps at most
//   Cluster.Spec.Orchestration.TaskHistoryRetentionLimit tasks; the oldest tasks that are
//   neither meant to run nor running are deleted first. A negative limit keeps everything.
#pragma once

#include "common/clock.h"
#include "manager/orchestrator/working_set.h"

namespace capsule::orchestrator {

void MarkServicelessTasksForRemoval(WorkingSet& ws, TimePoint now);
void OrphanTasksOfDownNodes(WorkingSet& ws, TimePoint now);
void DeleteRemovedTasks(WorkingSet& ws);
void EnforceTaskHistoryLimit(WorkingSet& ws);

}  // namespace capsule::orchestrator
