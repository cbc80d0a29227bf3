// The restart supervisor (swarmkit's restart.Supervisor): decides whether a task that
// stopped (or must leave its node) gets a replacement, creates it, and holds back its start.
//
// A replacement is created at once in the same slot (global: on the same node) with desired
// state READY, so it can be scheduled and prepared (image, bundle, secrets) while it waits;
// PromoteDue moves it to desired RUNNING once the restart delay has passed and the task it
// replaces has stopped (or its node is down, or a minute passed). The agent starts a task only
// when its desired state is RUNNING. The delay holds for every stop: a task that exits, one
// that fails to start (FAILED from the agent's Start) and one rejected while it was being
// prepared — the last is replaced only once its own delay has passed.
//
// Restart history (for MaxAttempts within Window) and pending delays live in memory; after a
// manager restart, a READY task without a recorded delay starts RestartPolicy.Delay after its
// creation. Not thread-safe (the orchestrator's worker thread owns it).
#pragma once

#include <deque>
#include <map>
#include <string>
#include <utility>

#include "common/clock.h"
#include "manager/orchestrator/working_set.h"

namespace capsule::orchestrator {

class RestartSupervisor {
 public:
  explicit RestartSupervisor(const Clock& clock) : clock_(clock) {}

  // Whether the restart policy wants a replacement for t (condition, MaxAttempts, Window).
  bool ShouldRestart(const Task& t, bool global) const;

  // Shuts t down (desired SHUTDOWN) and, when ShouldRestart, creates the replacement.
  // Returns the replacement's ID, or "" when there is none. A task still held by its own
  // delay (StillDelayed) is left alone until the delay has passed.
  std::string Restart(WorkingSet& ws, const WorkingSet::ServiceRef& service, const Task& t);

  // Holds new_task (desired READY) until not_before and, when old_task is not empty, until
  // old_task has stopped (at most one minute).
  void DelayStart(const std::string& new_task, const std::string& old_task, TimePoint not_before);

  // Whether t (desired READY) still waits out its restart delay, or for the task it replaces
  // to stop.
  bool StillDelayed(const WorkingSet& ws, const Task& t) const;

  // Moves every due READY task that has not failed meanwhile to desired RUNNING.
  void PromoteDue(WorkingSet& ws);

  // The earliest time after `now` at which a delayed start may become due (TimePoint::max()
  // when none is pending).
  TimePoint NextDeadline(TimePoint now) const;

  // Drops the history of a service that no longer exists.
  void ForgetService(const std::string& service_id);

 private:
  struct History {
    int64_t spec_version = 0;
    uint64_t total = 0;
    std::deque<TimePoint> restarts;  // creation times, only with a Window
  };
  struct Delay {
    TimePoint not_before;
    std::string old_task;
    TimePoint wait_deadline;
  };
  using InstanceId = std::pair<std::string, std::string>;  // service, slot key or node

  void RecordRestart(const Task& replacement, bool global);
  bool OldTaskStopped(const WorkingSet& ws, const std::string& old_task) const;

  const Clock& clock_;
  std::map<InstanceId, History> history_;
  std::map<std::string, Delay> delays_;  // by the READY task's ID
};

}  // namespace capsule::orchestrator
