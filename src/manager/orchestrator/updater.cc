#include "manager/orchestrator/updater.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "manager/orchestrator/tasks.h"

namespace capsule::orchestrator {
namespace {

constexpr std::chrono::nanoseconds kDefaultMonitor = std::chrono::seconds(5);

// Docker's API turns a zero Monitor into "unset": swarmkit's 5 s default applies.
std::chrono::nanoseconds MonitorOf(const UpdateConfig& cfg) {
  return cfg.monitor_ns > 0 ? std::chrono::nanoseconds(cfg.monitor_ns) : kDefaultMonitor;
}

std::chrono::nanoseconds DelayOf(const UpdateConfig& cfg) {
  return std::chrono::nanoseconds(std::max<int64_t>(0, cfg.delay_ns));
}

// swarmkit watches at least Delay + 1 s after the last instance, so that a task that fails
// while the update waits out its delay still counts.
std::chrono::nanoseconds FinalMonitor(const UpdateConfig& cfg) {
  const std::chrono::nanoseconds delay = DelayOf(cfg);
  const std::chrono::nanoseconds monitor = MonitorOf(cfg);
  return delay >= monitor ? delay + std::chrono::seconds(1) : monitor;
}

bool InProgress(const std::optional<UpdateStatus>& us) {
  return us && (us->state == "updating" || us->state == "rollback_started");
}

std::string PhaseOf(const std::optional<UpdateStatus>& us) {
  if (!us) return "";
  return us->state + "@" + std::to_string(ToUnixNanos(us->started_at));
}

}  // namespace

void Updater::Step(WorkingSet& ws, const std::string& service_id, const Instances& instances) {
  const WorkingSet::ServiceRef& svc = ws.services().at(service_id);
  const std::optional<UpdateStatus> us = svc.service.update_status;  // a copy: we may write it
  const bool rolling_back = us && us->state == "rollback_started";
  const UpdateConfig cfg = rolling_back ? EffectiveRollbackConfig(svc.service.spec)
                                        : EffectiveUpdateConfig(svc.service.spec);
  const TimePoint now = clock_.Now();
  State& st = states_[service_id];
  const bool fresh = !st.phase || *st.phase != PhaseOf(us);
  if (fresh) {
    st = State{};
    st.phase = PhaseOf(us);
  }

  struct Candidate {
    const Instance* inst;
    std::vector<const Task*> dirty;
  };
  std::vector<Candidate> candidates;
  std::map<std::string, std::string> waiting;  // instance → its new task, which does not run yet
  for (const auto& [key, inst] : instances) {
    const std::vector<const Task*> runnable = RunnableTasks(ws, inst);
    std::vector<const Task*> dirty, clean;
    for (const Task* t : runnable) {
      (IsTaskDirty(svc.service, *t, ws.node(t->node_id)) ? dirty : clean).push_back(t);
    }
    if (!clean.empty()) {
      const bool clean_runs = std::any_of(clean.begin(), clean.end(), [](const Task* t) {
        return t->status.state == TaskState::kRunning;
      });
      if (!clean_runs) {
        waiting[key] = clean.back()->id;
        continue;
      }
      // The new task runs: the old ones go (start-first), and the instance is done.
      for (const Task* d : dirty) {
        Task old = *d;
        old.desired_state = TaskState::kShutdown;
        old.updated_at = now;
        ws.UpdateTask(old);
      }
      continue;
    }
    if (!dirty.empty()) {
      candidates.push_back({&inst, dirty});
    } else if (runnable.empty()) {
      // A finished instance (not restarted by policy) still follows a new spec.
      const Task* newest = NewestTask(ws, inst);
      if (newest != nullptr && IsTaskDirty(svc.service, *newest, ws.node(newest->node_id))) {
        candidates.push_back({&inst, {}});
      }
    }
  }
  // An instance is in flight until its new task runs or ended (a failure is counted by the
  // monitor; the restart policy replaces the task); then it frees its place Delay later.
  for (auto it = st.in_flight.begin(); it != st.in_flight.end();) {
    const Task* t = ws.task(it->second);
    const bool done = waiting.count(it->first) == 0 || t == nullptr || IsTerminal(t->status.state);
    if (!done) {
      ++it;
      continue;
    }
    if (DelayOf(cfg).count() > 0) st.cooling.push_back(now + DelayOf(cfg));
    it = st.in_flight.erase(it);
  }
  if (fresh) {
    // An update in progress that this manager did not start (it restarted, or controlapi
    // started a rollback): new tasks still on their way count as in flight.
    if (InProgress(us)) {
      for (const auto& [key, task_id] : waiting) st.in_flight.emplace(key, task_id);
    }
    st.total = candidates.size() + st.in_flight.size();
  }
  const bool has_work = !candidates.empty() || !st.in_flight.empty();

  if (!us) {
    if (!has_work) {
      states_.erase(service_id);
      return;
    }
    WriteStatus(ws, service_id, "updating", "update in progress", false);
    st.phase = PhaseOf(ws.services().at(service_id).service.update_status);
  } else if (us->state == "paused" || us->state == "rollback_paused") {
    return;
  } else if (!InProgress(us) && !has_work) {
    states_.erase(service_id);
    return;
  }
  // (After "completed", out-of-date instances — e.g. on a node that no longer meets new
  // constraints — are replaced without a new UpdateStatus, as swarmkit does.)

  const std::string failed = CheckWatched(ws, MonitorOf(cfg), st);
  if (!failed.empty() && cfg.failure_action != "continue" && InProgress(us)) {
    const double total = static_cast<double>(std::max<uint64_t>(1, st.total));
    if (static_cast<double>(st.failures) / total > cfg.max_failure_ratio) {
      const std::string why = " due to failure or early termination of task " + failed;
      if (cfg.failure_action == "rollback" && rolling_back) {
        WriteStatus(ws, service_id, "rollback_paused", "rollback paused" + why, false);
        return;
      }
      if (cfg.failure_action == "rollback" &&
          Rollback(ws, service_id, "update rolled back" + why)) {
        states_.erase(service_id);
        return;
      }
      WriteStatus(ws, service_id, rolling_back ? "rollback_paused" : "paused",
                  "update paused" + why, false);
      return;
    }
  }

  if (!has_work) {
    // Every instance is done: complete once the monitor period passed without a failure.
    if (!st.complete) st.complete = now + DelayOf(cfg) + FinalMonitor(cfg);
    if (now >= *st.complete) {
      if (InProgress(us)) {
        WriteStatus(ws, service_id, rolling_back ? "rollback_completed" : "completed",
                    rolling_back ? "rollback completed" : "update completed", true);
      }
      states_.erase(service_id);
    }
    return;
  }
  st.complete.reset();

  st.cooling.erase(
      std::remove_if(st.cooling.begin(), st.cooling.end(), [&](TimePoint t) { return t <= now; }),
      st.cooling.end());
  const size_t parallel =
      cfg.parallelism == 0 ? std::numeric_limits<size_t>::max() : cfg.parallelism;
  size_t busy = st.in_flight.size() + st.cooling.size();
  for (const Candidate& c : candidates) {
    if (busy >= parallel) break;
    StartInstance(ws, ws.services().at(service_id), cfg, *c.inst, c.dirty, st);
    ++busy;
  }
}

TimePoint Updater::NextDeadline(TimePoint now) const {
  TimePoint next = TimePoint::max();
  for (const auto& [id, st] : states_) {
    for (TimePoint t : st.cooling) {
      if (t > now) next = std::min(next, t);
    }
    if (st.complete && *st.complete > now) next = std::min(next, *st.complete);
  }
  return next;
}

void Updater::StartInstance(WorkingSet& ws, const WorkingSet::ServiceRef& svc,
                            const UpdateConfig& cfg, const Instance& inst,
                            const std::vector<const Task*>& dirty, State& st) {
  const TimePoint now = clock_.Now();
  const bool global = svc.service.spec.global;
  Task next =
      NewTask(svc.service, svc.revision, global ? 0 : inst.slot, global ? inst.node_id : "", now);
  if (dirty.empty() || cfg.order == "start-first") {
    ws.CreateTask(next);
  } else {
    const std::string first_old = dirty.front()->id;
    std::vector<Task> olds;
    for (const Task* d : dirty) olds.push_back(*d);
    for (Task& old : olds) {
      old.desired_state = TaskState::kShutdown;
      old.updated_at = now;
      ws.UpdateTask(old);
    }
    next.desired_state = TaskState::kReady;
    ws.CreateTask(next);
    restarts_.DelayStart(next.id, first_old, now);
  }
  st.in_flight[global ? inst.node_id : SlotKey(inst.slot)] = next.id;
  st.watched[next.id] = TimePoint{};
}

std::string Updater::CheckWatched(const WorkingSet& ws, std::chrono::nanoseconds monitor,
                                  State& st) {
  const TimePoint now = clock_.Now();
  std::string failed;
  for (auto it = st.watched.begin(); it != st.watched.end();) {
    const Task* t = ws.task(it->first);
    if (t == nullptr) {
      it = st.watched.erase(it);
      continue;
    }
    const TaskState s = t->status.state;
    if (s == TaskState::kRunning) {
      if (it->second == TimePoint{}) it->second = t->status.timestamp;
      it = now - it->second >= monitor ? st.watched.erase(it) : std::next(it);
      continue;
    }
    if (s == TaskState::kFailed || s == TaskState::kRejected || s == TaskState::kComplete) {
      // Failed before it ran, or ended within the monitor period of starting.
      if (it->second == TimePoint{} || t->status.timestamp - it->second <= monitor) {
        if (failed.empty()) failed = t->id;
        ++st.failures;
      }
      it = st.watched.erase(it);
      continue;
    }
    // Shut down on purpose (a newer update, a scale-down), or not started yet.
    it = IsTerminal(s) ? st.watched.erase(it) : std::next(it);
  }
  return failed;
}

bool Updater::Rollback(WorkingSet& ws, const std::string& service_id, const std::string& message) {
  Service s = ws.services().at(service_id).service;
  if (s.previous_secret_versions) {
    // A rotation (or secret rollback) failed: its secret versions come back, the Spec stays.
    s.secret_versions = *std::exchange(s.previous_secret_versions, std::nullopt);
  } else if (!s.previous_spec) {
    return false;
  } else {
    RollbackSpec(s);
  }
  UpdateStatus u = s.update_status.value_or(UpdateStatus{});
  u.state = "rollback_started";
  u.message = message;
  s.update_status = u;
  s.updated_at = clock_.Now();
  ws.UpdateService(s);
  return true;
}

void Updater::RollbackSpec(Service& s) {
  // As swarmkit's rollbackUpdate: the previous spec (and its version) comes back, and there
  // is no previous spec any more.
  s.spec = *s.previous_spec;
  s.spec_version = s.previous_spec_version;
  s.previous_spec.reset();
  s.previous_spec_version = 0;
  // The previous spec's registry credentials come back with it; the replaced ones stay
  // named (not delivered: only pull_auth_id is) so the next update or removal deletes them.
  std::swap(s.pull_auth_id, s.previous_pull_auth_id);
}

void Updater::WriteStatus(WorkingSet& ws, const std::string& service_id, const std::string& state,
                          const std::string& message, bool completed) {
  const TimePoint now = clock_.Now();
  Service s = ws.services().at(service_id).service;
  UpdateStatus u = s.update_status.value_or(UpdateStatus{});
  if (state == "updating") {
    u = UpdateStatus{};
    u.started_at = now;
  }
  u.state = state;
  u.message = message;
  if (completed) u.completed_at = now;
  s.update_status = u;
  s.updated_at = now;
  ws.UpdateService(s);
}

}  // namespace capsule::orchestrator
