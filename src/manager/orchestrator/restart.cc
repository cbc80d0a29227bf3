#include "manager/orchestrator/restart.h"

#include <chrono>

#include "manager/orchestrator/instances.h"
#include "manager/orchestrator/tasks.h"

namespace capsule::orchestrator {
namespace {

constexpr auto kOldTaskTimeout = std::chrono::minutes(1);

std::chrono::nanoseconds RestartDelay(const TaskSpec& spec) {
  return std::chrono::nanoseconds(std::max<int64_t>(0, EffectiveRestartPolicy(spec).delay_ns));
}

bool NodeIsDown(const Node* n) { return n == nullptr || n->state == "down"; }

}  // namespace

bool RestartSupervisor::ShouldRestart(const Task& t, bool global) const {
  const RestartPolicy policy = EffectiveRestartPolicy(t.spec);
  if (policy.condition != "any" &&
      (policy.condition != "on-failure" || t.status.state == TaskState::kComplete)) {
    return false;
  }
  if (policy.max_attempts == 0) return true;
  auto it = history_.find({t.service_id, InstanceKeyOf(t, global)});
  if (it == history_.end() || it->second.spec_version != t.spec_version) return true;
  const History& h = it->second;
  if (policy.window_ns <= 0) return h.total < policy.max_attempts;
  // Restarts created within the window before this task stopped, as swarmkit counts them.
  const TimePoint stopped = t.status.timestamp;
  const TimePoint lookback = stopped - std::chrono::nanoseconds(policy.window_ns);
  uint64_t n = 0;
  for (TimePoint at : h.restarts) {
    if (at > lookback && at < stopped) ++n;
  }
  return n < policy.max_attempts;
}

bool RestartSupervisor::StillDelayed(const WorkingSet& ws, const Task& t) const {
  if (t.desired_state != TaskState::kReady) return false;
  const TimePoint now = clock_.Now();
  auto d = delays_.find(t.id);
  if (d == delays_.end()) return now < t.created_at + RestartDelay(t.spec);
  if (now < d->second.not_before) return true;
  return now < d->second.wait_deadline && !OldTaskStopped(ws, d->second.old_task);
}

std::string RestartSupervisor::Restart(WorkingSet& ws, const WorkingSet::ServiceRef& service,
                                       const Task& t) {
  // A task that stopped while it still waited out its own delay (e.g. its Prepare was
  // rejected: no such image) is replaced once that delay has passed, not at once: a task
  // that can never start restarts at most once per delay (swarmkit's waiting restart).
  if (StillDelayed(ws, t)) return "";
  const TimePoint now = clock_.Now();
  const bool global = service.service.spec.global;
  Task old = t;
  old.desired_state = TaskState::kShutdown;
  old.updated_at = now;
  ws.UpdateTask(old);
  if (!ShouldRestart(t, global)) return "";

  Task next =
      NewTask(service.service, service.revision, global ? 0 : t.slot, global ? t.node_id : "", now);
  next.desired_state = TaskState::kReady;
  const Node* node = t.node_id.empty() ? nullptr : ws.node(t.node_id);
  // No restart delay when the node was drained (swarmkit); no waiting for a task that
  // already stopped, never reached a node, or whose node is down.
  const bool drained = node != nullptr && node->availability == "drain";
  const bool wait_stop = !t.node_id.empty() && !NodeIsDown(node) && !IsTerminal(t.status.state) &&
                         t.status.state >= TaskState::kAssigned;
  const TimePoint not_before = drained ? now : now + RestartDelay(t.spec);
  ws.CreateTask(next);
  RecordRestart(next, global);
  DelayStart(next.id, wait_stop ? t.id : "", not_before);
  return next.id;
}

void RestartSupervisor::RecordRestart(const Task& replacement, bool global) {
  const RestartPolicy policy = EffectiveRestartPolicy(replacement.spec);
  if (policy.max_attempts == 0) return;
  History& h = history_[{replacement.service_id, InstanceKeyOf(replacement, global)}];
  if (h.spec_version != replacement.spec_version) {
    h = History{};
    h.spec_version = replacement.spec_version;
  }
  ++h.total;
  if (policy.window_ns > 0) h.restarts.push_back(replacement.created_at);
}

void RestartSupervisor::DelayStart(const std::string& new_task, const std::string& old_task,
                                   TimePoint not_before) {
  delays_[new_task] = Delay{not_before, old_task, clock_.Now() + kOldTaskTimeout};
}

bool RestartSupervisor::OldTaskStopped(const WorkingSet& ws, const std::string& old_task) const {
  if (old_task.empty()) return true;
  const Task* old = ws.task(old_task);
  if (old == nullptr || IsTerminal(old->status.state)) return true;
  if (old->status.state < TaskState::kAssigned) return true;
  return NodeIsDown(ws.node(old->node_id));
}

void RestartSupervisor::PromoteDue(WorkingSet& ws) {
  const TimePoint now = clock_.Now();
  std::vector<Task> due;
  for (const auto& [id, t] : ws.tasks()) {
    if (t.desired_state != TaskState::kReady) continue;
    if (ws.services().count(t.service_id) == 0) continue;
    if (IsTerminal(t.status.state)) continue;  // failed while waiting: Restart replaces it
    auto d = delays_.find(id);
    if (d == delays_.end()) {
      // Unknown (e.g. this manager restarted): the restart delay from the task's creation.
      if (now < t.created_at + RestartDelay(t.spec)) continue;
    } else {
      if (now < d->second.not_before) continue;
      if (now < d->second.wait_deadline && !OldTaskStopped(ws, d->second.old_task)) continue;
    }
    due.push_back(t);
  }
  for (Task& t : due) {
    t.desired_state = TaskState::kRunning;
    t.updated_at = now;
    ws.UpdateTask(t);
    delays_.erase(t.id);
  }
  // Forget delays of tasks that are gone or no longer waiting.
  for (auto it = delays_.begin(); it != delays_.end();) {
    const Task* t = ws.task(it->first);
    if (t == nullptr || t->desired_state != TaskState::kReady) {
      it = delays_.erase(it);
    } else {
      ++it;
    }
  }
}

TimePoint RestartSupervisor::NextDeadline(TimePoint now) const {
  TimePoint next = TimePoint::max();
  for (const auto& [id, d] : delays_) {
    if (d.not_before > now) next = std::min(next, d.not_before);
    if (!d.old_task.empty() && d.wait_deadline > now) next = std::min(next, d.wait_deadline);
  }
  return next;
}

void RestartSupervisor::ForgetService(const std::string& service_id) {
  for (auto it = history_.begin(); it != history_.end();) {
    it = it->first.first == service_id ? history_.erase(it) : std::next(it);
  }
}

}  // namespace capsule::orchestrator
