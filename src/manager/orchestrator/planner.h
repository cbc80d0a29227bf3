// One reconcile pass of the orchestrator and scheduler, as a pure function of a snapshot
// (plus the in-memory restart/update bookkeeping and the clock): it returns the store writes
// that move the cluster toward its services' specs. Steps, in order:
//   1. tasks of removed services → desired REMOVE;
//   2. per service: restarts (tasks that stopped, or whose node is down or drained), then
//      replicas (scale up: lowest free slots; scale down: finished, then not running, then
//      highest slots → desired REMOVE) or global placement (one task per eligible node; tasks
//      on nodes that are down, drained, gone or no longer match → desired SHUTDOWN), then the
//      rolling update;
//   3. delayed starts that are due: desired READY → RUNNING;
//   3b. networks (network_allocation.h): service VIPs, task addresses;
//   4. scheduling: NEW/PENDING tasks → ASSIGNED to a node ("scheduler assigned task to
//      node"), or PENDING ("pending task scheduling", Err "no suitable node (...)");
//      unplaced tasks that should no longer run → SHUTDOWN;
//   5. reaping: tasks told to stop on a down node → ORPHANED; REMOVE tasks that stopped are
//      deleted; task history is trimmed.
// Not thread-safe: one Planner per orchestrator, used by its worker thread.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "manager/orchestrator/instances.h"
#include "manager/orchestrator/restart.h"
#include "manager/orchestrator/updater.h"
#include "manager/orchestrator/working_set.h"
#include "manager/scheduler/scheduler.h"

namespace capsule::orchestrator {

class Planner {
 public:
  explicit Planner(const Clock& clock)
      : clock_(clock), restarts_(clock), updater_(clock, restarts_) {}

  std::vector<Write> Plan(const Snapshot& snapshot);

  // When a timer (restart delay, update delay, old-task timeout) next needs a pass, given
  // the writes of the last Plan were applied; TimePoint::max() when none is pending.
  TimePoint NextWake() const;

 private:
  void ReconcileReplicated(WorkingSet& ws, const std::string& service_id);
  void ReconcileGlobal(WorkingSet& ws, const std::string& service_id,
                       const scheduler::NodeSet& nodes);
  // A slot or node without a runnable task whose newest task should restart gets a new one
  // (a replacement whose creation failed earlier).
  bool NeedsReplacement(const WorkingSet& ws, const Instance& inst, bool global) const;
  void Schedule(WorkingSet& ws, TimePoint now);
  void ForgetGoneServices(const WorkingSet& ws);

  const Clock& clock_;
  RestartSupervisor restarts_;
  Updater updater_;
  std::vector<std::string> known_services_;
  std::set<std::string> waiting_for_network_;  // tasks without their addresses this pass
};

}  // namespace capsule::orchestrator
