#include "manager/orchestrator/instances.h"

#include <algorithm>
#include <cstdio>

#include "manager/orchestrator/tasks.h"

namespace capsule::orchestrator {

std::string SlotKey(uint64_t slot) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(slot));
  return buf;
}

std::string InstanceKeyOf(const Task& t, bool global) {
  return global ? t.node_id : SlotKey(t.slot);
}

Instances InstancesOf(const WorkingSet& ws, const std::string& service_id, bool global) {
  Instances out;
  for (const std::string& id : ws.TaskIdsOfService(service_id)) {
    const Task& t = *ws.task(id);
    if (t.desired_state == TaskState::kRemove) continue;
    if (global && t.node_id.empty()) continue;
    Instance& inst = out[InstanceKeyOf(t, global)];
    inst.slot = global ? 0 : t.slot;
    inst.node_id = global ? t.node_id : "";
    inst.task_ids.push_back(id);
  }
  for (auto& [key, inst] : out) {
    std::stable_sort(inst.task_ids.begin(), inst.task_ids.end(),
                     [&](const std::string& a, const std::string& b) {
                       return ws.task(a)->created_at < ws.task(b)->created_at;
                     });
  }
  return out;
}

const Task* NewestTask(const WorkingSet& ws, const Instance& inst) {
  return inst.task_ids.empty() ? nullptr : ws.task(inst.task_ids.back());
}

std::vector<const Task*> RunnableTasks(const WorkingSet& ws, const Instance& inst) {
  std::vector<const Task*> out;
  for (const std::string& id : inst.task_ids) {
    const Task* t = ws.task(id);
    if (t != nullptr && IsRunnable(*t)) out.push_back(t);
  }
  return out;
}

}  // namespace capsule::orchestrator
