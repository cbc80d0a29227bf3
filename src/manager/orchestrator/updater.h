// Rolling updates (swarmkit's update.Updater, made level-triggered): when a service's
// TaskTemplate changes, its instances get new tasks, UpdateConfig.Parallelism at a time
// (0 = all at once); an instance is done once its new task reached RUNNING (or ended), and
// frees its place UpdateConfig.Delay later.
//   stop-first:  the old task is shut down and the new one (desired READY) starts once the
//                old one stopped (RestartSupervisor::DelayStart);
//   start-first: the new task starts at once; the old one is shut down when the new runs.
// Service.UpdateStatus (as swarmkit):
//   - "updating" ("update in progress") when a new spec has out-of-date instances;
//   - "completed" ("update completed") only once every instance is done and a monitor period
//     passed without a failure: UpdateConfig.Monitor (5 s when 0), or Delay + 1 s when Delay
//     is not shorter, counted from the last instance's done + Delay;
//   - a new task that fails (failed/rejected/complete before RUNNING, or within Monitor of
//     reaching it) counts towards MaxFailureRatio (of the out-of-date instances); past it,
//     FailureAction "pause" → "paused" ("update paused due to failure or early termination
//     of task <id>"), "continue" → nothing, "rollback" → the service's Spec becomes its
//     PreviousSpec (PreviousSpec cleared) with "rollback_started" ("update rolled back due to
//     failure or early termination of task <id>"), and the rollback proceeds like an update
//     with RollbackConfig, ending "rollback_completed" ("rollback completed"); a rollback
//     that fails past the ratio pauses ("rollback_paused", "rollback paused due to ...").
//   - "rollback_started" written by controlapi (a manual rollback) is followed the same way.
//   - paused and rollback_paused updates do nothing until the service is updated again
//     (controlapi resets UpdateStatus).
//   - one difference: a rollback (or update) that finds nothing out of date — e.g. a manual
//     rollback of a scale — completes after the monitor period, where swarmkit completes it
//     at once; `service rollback` then reads "rollback_started" for those 5 s.
// Bookkeeping (instances in flight, new tasks under monitor, failures) lives in memory;
// after a manager restart an update in progress continues with a fresh count.
// Not thread-safe (the orchestrator's worker thread owns it).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "manager/orchestrator/instances.h"
#include "manager/orchestrator/restart.h"
#include "manager/orchestrator/working_set.h"

namespace capsule::orchestrator {

class Updater {
 public:
  Updater(const Clock& clock, RestartSupervisor& restarts) : clock_(clock), restarts_(restarts) {}

  // One step for a service. `instances` are the instances that may run (a global service's
  // eligible nodes).
  void Step(WorkingSet& ws, const std::string& service_id, const Instances& instances);

  void ForgetService(const std::string& service_id) { states_.erase(service_id); }

  // The earliest time after `now` at which an update delay or monitor period ends
  // (TimePoint::max() if none).
  TimePoint NextDeadline(TimePoint now) const;

 private:
  struct State {
    // The UpdateStatus (state and start) this bookkeeping belongs to; unset: none yet.
    std::optional<std::string> phase;
    std::map<std::string, std::string> in_flight;  // instance key → the new task it waits for
    std::vector<TimePoint> cooling;                // a done instance frees its place at this time
    // New tasks under monitor → when they were first seen RUNNING (zero: not yet).
    std::map<std::string, TimePoint> watched;
    uint64_t failures = 0;
    uint64_t total = 0;                 // out-of-date instances when the update started
    std::optional<TimePoint> complete;  // every instance done: completes at this time
  };
  void StartInstance(WorkingSet& ws, const WorkingSet::ServiceRef& svc, const UpdateConfig& cfg,
                     const Instance& inst, const std::vector<const Task*>& dirty, State& st);
  // A watched task that failed, if any (removes tasks that passed the monitor period).
  std::string CheckWatched(const WorkingSet& ws, std::chrono::nanoseconds monitor, State& st);
  // FailureAction "rollback": the previous spec comes back — or, after a secret rotation
  // (Service::previous_secret_versions), the previous secret versions. False when there is
  // neither.
  bool Rollback(WorkingSet& ws, const std::string& service_id, const std::string& message);
  static void RollbackSpec(Service& s);
  void WriteStatus(WorkingSet& ws, const std::string& service_id, const std::string& state,
                   const std::string& message, bool completed);

  const Clock& clock_;
  RestartSupervisor& restarts_;
  std::map<std::string, State> states_;
};

}  // namespace capsule::orchestrator
