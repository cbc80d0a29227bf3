#include "manager/orchestrator/reaper.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "manager/orchestrator/instances.h"

namespace capsule::orchestrator {

void MarkServicelessTasksForRemoval(WorkingSet& ws, TimePoint now) {
  std::vector<Task> orphans;
  for (const auto& [id, t] : ws.tasks()) {
    if (t.desired_state != TaskState::kRemove && ws.services().count(t.service_id) == 0) {
      orphans.push_back(t);
    }
  }
  for (Task& t : orphans) {
    t.desired_state = TaskState::kRemove;
    t.updated_at = now;
    ws.UpdateTask(t);
  }
}

void OrphanTasksOfDownNodes(WorkingSet& ws, TimePoint now) {
  std::vector<Task> orphans;
  for (const auto& [id, t] : ws.tasks()) {
    if (t.node_id.empty() || t.desired_state <= TaskState::kRunning) continue;
    if (t.status.state < TaskState::kAssigned || t.status.state > TaskState::kRunning) continue;
    const Node* node = ws.node(t.node_id);
    if (node == nullptr || node->state == "down") orphans.push_back(t);
  }
  for (Task& t : orphans) {
    t.status.state = TaskState::kOrphaned;
    t.status.timestamp = now;
    t.updated_at = now;
    ws.UpdateTask(t);
  }
}

void DeleteRemovedTasks(WorkingSet& ws) {
  std::vector<std::string> gone;
  for (const auto& [id, t] : ws.tasks()) {
    if (t.desired_state != TaskState::kRemove) continue;
    const Node* node = t.node_id.empty() ? nullptr : ws.node(t.node_id);
    if (IsTerminal(t.status.state) || t.status.state < TaskState::kAssigned || node == nullptr ||
        node->state == "down") {
      gone.push_back(id);
    }
  }
  for (const std::string& id : gone) ws.DeleteTask(id);
}

void EnforceTaskHistoryLimit(WorkingSet& ws) {
  const int64_t limit = ws.task_history_retention_limit();
  if (limit < 0) return;
  std::map<std::pair<std::string, std::string>, std::vector<const Task*>> groups;
  for (const auto& [id, t] : ws.tasks()) {
    auto svc = ws.services().find(t.service_id);
    if (svc == ws.services().end()) continue;
    const bool global = svc->second.service.spec.global;
    if (global && t.node_id.empty()) continue;
    groups[{t.service_id, InstanceKeyOf(t, global)}].push_back(&t);
  }
  std::vector<std::string> doomed;
  for (auto& [key, tasks] : groups) {
    size_t count = tasks.size();
    if (static_cast<int64_t>(count) <= limit) continue;
    std::stable_sort(tasks.begin(), tasks.end(), [](const Task* a, const Task* b) {
      if (a->status.timestamp != b->status.timestamp) {
        return a->status.timestamp < b->status.timestamp;
      }
      return a->created_at < b->created_at;
    });
    for (const Task* t : tasks) {
      if (static_cast<int64_t>(count) <= limit) break;
      if (t->desired_state <= TaskState::kRunning || t->status.state <= TaskState::kRunning) {
        continue;
      }
      doomed.push_back(t->id);
      --count;
    }
  }
  for (const std::string& id : doomed) ws.DeleteTask(id);
}

}  // namespace capsule::orchestrator
