// Rolling updates (swarmkit's update.Updater, made level-triggered): when a service's
// TaskTemplate changes, its instances get new tasks, UpdateConfig.Parallelism at a time
// (0 = all at once), waiting UpdateConfig.Delay after each instance's new task runs.
//   stop-first:  the old task is shut down and the new one (desired READY) starts once the
//                old one stopped (RestartSupervisor::DelayStart);
//   start-first: the new task starts at once; the old one is shut down when the new runs.
// Service.UpdateStatus: "updating" ("update in progress") while out-of-date instances
// remain, then "completed" ("update completed"). A new task that fails (failed/rejected, or
// ends within UpdateConfig.Monitor of starting) with FailureAction "pause" pauses the update
// ("paused", "update paused due to failure or early termination of task <id>") once the
// failures exceed MaxFailureRatio; a paused update resumes when the service is updated again
// (controlapi resets UpdateStatus). FailureAction "rollback" is treated as "pause".
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

  // The earliest time after `now` at which an update delay ends (TimePoint::max() if none).
  TimePoint NextDeadline(TimePoint now) const;

 private:
  struct State {
    std::set<std::string> in_flight;           // instance keys being replaced
    std::vector<TimePoint> cooling;            // a finished instance frees its place at this time
    std::map<std::string, TimePoint> watched;  // new tasks under monitor → creation time
    uint64_t failures = 0;
    uint64_t total = 0;  // out-of-date instances when the update started
  };
  void StartInstance(WorkingSet& ws, const WorkingSet::ServiceRef& svc, const Instance& inst,
                     const std::vector<const Task*>& dirty, State& st);
  // A watched task that failed, if any (removes tasks that passed the monitor period).
  std::string CheckWatched(const WorkingSet& ws, const UpdateConfig& cfg, State& st);
  void WriteStatus(WorkingSet& ws, const std::string& service_id, const std::string& state,
                   const std::string& message, bool completed);

  const Clock& clock_;
  RestartSupervisor& restarts_;
  std::map<std::string, State> states_;
};

}  // namespace capsule::orchestrator
