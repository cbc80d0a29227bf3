#include "manager/orchestrator/planner.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "manager/orchestrator/network_allocation.h"
#include "manager/orchestrator/reaper.h"
#include "manager/orchestrator/tasks.h"
#include "manager/scheduler/constraint.h"

namespace capsule::orchestrator {
namespace {

bool NodeLost(const Node* node) {
  return node == nullptr || node->state == "down" || node->availability == "drain";
}

void Shutdown(WorkingSet& ws, Task t, TimePoint now) {
  t.desired_state = TaskState::kShutdown;
  t.updated_at = now;
  ws.UpdateTask(t);
}

// Live refresh: the service's tasks take new versions of refreshed secrets in place
// (tasks.h MoveSecretsInPlace), before the updater looks for tasks to replace.
void RefreshInPlace(WorkingSet& ws, const std::string& service_id, TimePoint now) {
  const Service& service = ws.services().at(service_id).service;
  if (service.secret_refresh.empty()) return;
  for (const std::string& id : ws.TaskIdsOfService(service_id)) {
    Task t = *ws.task(id);
    if (MoveSecretsInPlace(service, t, now)) ws.UpdateTask(t);
  }
}

std::vector<std::string> ServiceIds(const WorkingSet& ws) {
  std::vector<std::string> ids;
  for (const auto& [id, svc] : ws.services()) ids.push_back(id);
  return ids;
}

}  // namespace

std::vector<Write> Planner::Plan(const Snapshot& snapshot) {
  WorkingSet ws(snapshot);
  const TimePoint now = clock_.Now();
  ForgetGoneServices(ws);
  MarkServicelessTasksForRemoval(ws, now);

  std::vector<Node> nodes;
  for (const auto& [id, n] : ws.nodes()) nodes.push_back(n);
  const scheduler::NodeSet eligibility(nodes, now);
  for (const std::string& id : ServiceIds(ws)) {
    if (ws.services().at(id).service.spec.global) {
      ReconcileGlobal(ws, id, eligibility);
    } else {
      ReconcileReplicated(ws, id);
    }
  }
  restarts_.PromoteDue(ws);
  waiting_for_network_ = AllocateNetworks(ws, snapshot.networks, now);
  Schedule(ws, now);
  OrphanTasksOfDownNodes(ws, now);
  DeleteRemovedTasks(ws);
  EnforceTaskHistoryLimit(ws);
  return ws.TakeWrites();
}

TimePoint Planner::NextWake() const {
  const TimePoint now = clock_.Now();
  return std::min(restarts_.NextDeadline(now), updater_.NextDeadline(now));
}

bool Planner::NeedsReplacement(const WorkingSet& ws, const Instance& inst, bool global) const {
  if (!RunnableTasks(ws, inst).empty()) return false;
  const Task* newest = NewestTask(ws, inst);
  return newest != nullptr && restarts_.ShouldRestart(*newest, global);
}

void Planner::ReconcileReplicated(WorkingSet& ws, const std::string& service_id) {
  const WorkingSet::ServiceRef& svc = ws.services().at(service_id);
  const TimePoint now = clock_.Now();

  // Restarts: tasks meant to run that stopped, or whose node is down, drained or gone.
  for (const std::string& id : ws.TaskIdsOfService(service_id)) {
    const Task t = *ws.task(id);
    if (!IsRunnable(t)) continue;
    const bool node_lost = !t.node_id.empty() && NodeLost(ws.node(t.node_id));
    if (IsTerminal(t.status.state) || node_lost) restarts_.Restart(ws, svc, t);
  }

  Instances slots = InstancesOf(ws, service_id, /*global=*/false);
  for (const auto& [key, inst] : slots) {
    if (NeedsReplacement(ws, inst, false)) {
      ws.CreateTask(NewTask(svc.service, svc.revision, inst.slot, "", now));
    }
  }
  const uint64_t want = svc.service.spec.replicas;
  if (slots.size() < want) {
    uint64_t slot = 0;
    for (size_t n = slots.size(); n < want; ++n) {
      do {
        ++slot;
      } while (slots.count(SlotKey(slot)) > 0);
      ws.CreateTask(NewTask(svc.service, svc.revision, slot, "", now));
    }
  } else if (slots.size() > want) {
    // Remove finished slots first, then slots whose task does not run, then the highest.
    std::vector<std::tuple<int, uint64_t, const Instance*>> ranked;
    for (const auto& [key, inst] : slots) {
      const std::vector<const Task*> runnable = RunnableTasks(ws, inst);
      const bool runs = std::any_of(runnable.begin(), runnable.end(), [](const Task* t) {
        return t->status.state == TaskState::kRunning;
      });
      const int rank = runnable.empty() ? 0 : (runs ? 2 : 1);
      ranked.emplace_back(rank, ~inst.slot, &inst);
    }
    std::sort(ranked.begin(), ranked.end());
    for (size_t i = 0; i < slots.size() - want; ++i) {
      for (const std::string& id : std::get<2>(ranked[i])->task_ids) {
        Task t = *ws.task(id);
        t.desired_state = TaskState::kRemove;
        t.updated_at = now;
        ws.UpdateTask(t);
      }
    }
  }
  RefreshInPlace(ws, service_id, now);
  updater_.Step(ws, service_id, InstancesOf(ws, service_id, false));
}

void Planner::ReconcileGlobal(WorkingSet& ws, const std::string& service_id,
                              const scheduler::NodeSet& nodes) {
  const WorkingSet::ServiceRef& svc = ws.services().at(service_id);
  const TimePoint now = clock_.Now();
  const std::vector<std::string> eligible_list = nodes.Eligible(svc.service.spec.task_template);
  const std::set<std::string> eligible(eligible_list.begin(), eligible_list.end());
  StatusOr<std::vector<scheduler::Constraint>> constraints =
      scheduler::ParseConstraints(svc.service.spec.task_template.placement.constraints);

  for (const std::string& id : ws.TaskIdsOfService(service_id)) {
    const Task t = *ws.task(id);
    if (!IsRunnable(t) || t.node_id.empty()) continue;
    const Node* node = ws.node(t.node_id);
    // Tasks stay on paused (or not yet ready) nodes; they leave nodes that are down,
    // drained, gone or no longer match the constraints — without a replacement elsewhere.
    const bool keep =
        !NodeLost(node) && (!constraints.ok() || scheduler::NodeMatches(*constraints, *node));
    if (!keep) {
      Shutdown(ws, t, now);
    } else if (IsTerminal(t.status.state)) {
      restarts_.Restart(ws, svc, t);
    }
  }

  Instances on_nodes = InstancesOf(ws, service_id, /*global=*/true);
  for (const std::string& node_id : eligible) {
    auto it = on_nodes.find(node_id);
    if (it == on_nodes.end() || NeedsReplacement(ws, it->second, true)) {
      ws.CreateTask(NewTask(svc.service, svc.revision, 0, node_id, now));
    }
  }
  Instances updatable;
  for (auto& [key, inst] : InstancesOf(ws, service_id, true)) {
    if (eligible.count(key) > 0) updatable[key] = inst;
  }
  RefreshInPlace(ws, service_id, now);
  updater_.Step(ws, service_id, updatable);
}

void Planner::Schedule(WorkingSet& ws, TimePoint now) {
  std::vector<Node> nodes;
  for (const auto& [id, n] : ws.nodes()) nodes.push_back(n);
  scheduler::NodeSet set(std::move(nodes), now);
  std::vector<const Task*> todo;
  for (const auto& [id, t] : ws.tasks()) {
    set.AddTask(t);
    if (t.status.state <= TaskState::kPending) todo.push_back(&t);
  }
  std::stable_sort(todo.begin(), todo.end(),
                   [](const Task* a, const Task* b) { return a->created_at < b->created_at; });
  std::vector<Task> copies;
  for (const Task* t : todo) copies.push_back(*t);
  for (Task& t : copies) {
    if (!IsRunnable(t)) {
      // Never placed and no longer wanted: it ends here (REMOVE tasks are deleted instead).
      if (t.desired_state != TaskState::kRemove) {
        t.status.state = TaskState::kShutdown;
        t.status.timestamp = now;
        t.status.err.clear();
        t.updated_at = now;
        ws.UpdateTask(t);
      }
      continue;
    }
    if (ws.services().count(t.service_id) == 0) continue;
    if (waiting_for_network_.count(t.id) != 0) continue;  // stays NEW until it has addresses
    const bool preassigned = !t.node_id.empty();
    const scheduler::Decision d = preassigned ? set.Confirm(t) : set.Pick(t);
    if (!d.node_id.empty()) {
      t.node_id = d.node_id;
      SetStatus(t, TaskState::kAssigned,
                preassigned ? "scheduler confirmed task can run on preassigned node"
                            : "scheduler assigned task to node",
                now);
      ws.UpdateTask(t);
    } else if (t.status.state != TaskState::kPending || t.status.err != d.explanation) {
      SetStatus(t, TaskState::kPending, "pending task scheduling", now);
      t.status.err = d.explanation;
      ws.UpdateTask(t);
    }
  }
}

void Planner::ForgetGoneServices(const WorkingSet& ws) {
  for (const std::string& id : known_services_) {
    if (ws.services().count(id) == 0) {
      restarts_.ForgetService(id);
      updater_.ForgetService(id);
    }
  }
  known_services_ = ServiceIds(ws);
}

}  // namespace capsule::orchestrator
