#include "manager/orchestrator/updater.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "manager/orchestrator/tasks.h"

namespace capsule::orchestrator {

void Updater::Step(WorkingSet& ws, const std::string& service_id, const Instances& instances) {
  const WorkingSet::ServiceRef& svc = ws.services().at(service_id);
  const UpdateConfig cfg = EffectiveUpdateConfig(svc.service.spec);
  const TimePoint now = clock_.Now();
  State& st = states_[service_id];

  struct Candidate {
    const Instance* inst;
    std::vector<const Task*> dirty;
  };
  std::vector<Candidate> candidates;
  std::set<std::string> waiting;  // instances whose new task does not run yet
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
        waiting.insert(key);
        continue;
      }
      // The new task runs: the old ones go (start-first), and the instance is done.
      for (const Task* d : dirty) {
        Task old = *d;
        old.desired_state = TaskState::kShutdown;
        old.updated_at = now;
        ws.UpdateTask(old);
      }
      if (st.in_flight.erase(key) > 0 && cfg.delay_ns > 0) {
        st.cooling.push_back(now + std::chrono::nanoseconds(cfg.delay_ns));
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
  // An instance is in flight while its new task has not run yet.
  for (auto it = st.in_flight.begin(); it != st.in_flight.end();) {
    it = waiting.count(*it) > 0 ? std::next(it) : st.in_flight.erase(it);
  }

  const std::optional<UpdateStatus>& us = svc.service.update_status;
  if (candidates.empty() && st.in_flight.empty()) {
    if (us && us->state == "updating")
      WriteStatus(ws, service_id, "completed", "update completed", true);
    states_.erase(service_id);
    return;
  }
  if (us && us->state == "paused") return;
  if (!us || us->state != "updating") {
    st = State{};
    st.total = candidates.size();
    WriteStatus(ws, service_id, "updating", "update in progress", false);
  }

  const std::string failed = CheckWatched(ws, cfg, st);
  if (!failed.empty() && cfg.failure_action != "continue") {
    const double total = static_cast<double>(std::max<uint64_t>(1, st.total));
    if (static_cast<double>(st.failures) / total > cfg.max_failure_ratio) {
      WriteStatus(ws, service_id, "paused",
                  "update paused due to failure or early termination of task " + failed, false);
      return;
    }
  }

  st.cooling.erase(
      std::remove_if(st.cooling.begin(), st.cooling.end(), [&](TimePoint t) { return t <= now; }),
      st.cooling.end());
  const size_t parallel =
      cfg.parallelism == 0 ? std::numeric_limits<size_t>::max() : cfg.parallelism;
  size_t busy = st.in_flight.size() + st.cooling.size();
  for (const Candidate& c : candidates) {
    if (busy >= parallel) break;
    StartInstance(ws, svc, *c.inst, c.dirty, st);
    ++busy;
  }
}

TimePoint Updater::NextDeadline(TimePoint now) const {
  TimePoint next = TimePoint::max();
  for (const auto& [id, st] : states_) {
    for (TimePoint t : st.cooling) {
      if (t > now) next = std::min(next, t);
    }
  }
  return next;
}

void Updater::StartInstance(WorkingSet& ws, const WorkingSet::ServiceRef& svc, const Instance& inst,
                            const std::vector<const Task*>& dirty, State& st) {
  const TimePoint now = clock_.Now();
  const bool global = svc.service.spec.global;
  const UpdateConfig cfg = EffectiveUpdateConfig(svc.service.spec);
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
  st.in_flight.insert(global ? inst.node_id : SlotKey(inst.slot));
  st.watched[next.id] = now;
}

std::string Updater::CheckWatched(const WorkingSet& ws, const UpdateConfig& cfg, State& st) {
  const TimePoint now = clock_.Now();
  const auto monitor = std::chrono::nanoseconds(std::max<int64_t>(0, cfg.monitor_ns));
  std::string failed;
  for (auto it = st.watched.begin(); it != st.watched.end();) {
    const Task* t = ws.task(it->first);
    if (t == nullptr || t->status.state == TaskState::kShutdown ||
        t->status.state > TaskState::kRejected ||
        (t->status.state == TaskState::kRunning && now - t->status.timestamp >= monitor)) {
      it = st.watched.erase(it);
      continue;
    }
    const TaskState s = t->status.state;
    if (s == TaskState::kFailed || s == TaskState::kRejected || s == TaskState::kComplete) {
      if (failed.empty()) failed = t->id;
      ++st.failures;
      it = st.watched.erase(it);
      continue;
    }
    ++it;
  }
  return failed;
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
