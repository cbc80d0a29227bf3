#include "manager/orchestrator/working_set.h"

#include <cassert>

namespace capsule::orchestrator {

WorkingSet::WorkingSet(const Snapshot& snapshot)
    : retention_(snapshot.task_history_retention_limit) {
  for (const store::ServiceEntry& e : snapshot.services) {
    services_[e->object.id] = ServiceRef{e->object, e->mod_revision};
    service_versions_[e->object.id] = Version{e->mod_revision, -1};
  }
  for (const store::NodeEntry& e : snapshot.nodes) nodes_[e->object.id] = e->object;
  for (const store::TaskEntry& e : snapshot.tasks) {
    tasks_[e->object.id] = e->object;
    task_versions_[e->object.id] = Version{e->mod_revision, -1};
    task_ids_by_service_[e->object.service_id].insert(e->object.id);
  }
}

const Node* WorkingSet::node(const std::string& id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

const Task* WorkingSet::task(const std::string& id) const {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second;
}

std::vector<std::string> WorkingSet::TaskIdsOfService(const std::string& service_id) const {
  auto it = task_ids_by_service_.find(service_id);
  if (it == task_ids_by_service_.end()) return {};
  return std::vector<std::string>(it->second.begin(), it->second.end());
}

Write WorkingSet::Versioned(Write w, const Version& v) const {
  w.expected_revision = v.revision;
  w.after = v.after;
  return w;
}

void WorkingSet::CreateTask(Task t) {
  Write w;
  w.kind = Write::Kind::kCreateTask;
  w.task = t;
  writes_.push_back(std::move(w));
  task_versions_[t.id] = Version{0, static_cast<int>(writes_.size()) - 1};
  task_ids_by_service_[t.service_id].insert(t.id);
  std::string id = t.id;
  tasks_[id] = std::move(t);
}

void WorkingSet::UpdateTask(const Task& t) {
  auto v = task_versions_.find(t.id);
  assert(v != task_versions_.end());
  if (v->second.after >= 0) {
    // Written earlier in this pass (created, or updated): that write, not yet applied, now
    // carries this state — one store write per task per pass (a new task is created already
    // ASSIGNED instead of NEW and then ASSIGNED: half the writes when 1,000 tasks start).
    writes_[v->second.after].task = t;
    tasks_[t.id] = t;
    return;
  }
  Write w;
  w.kind = Write::Kind::kUpdateTask;
  w.task = t;
  writes_.push_back(Versioned(std::move(w), v->second));
  v->second = Version{0, static_cast<int>(writes_.size()) - 1};
  tasks_[t.id] = t;
}

void WorkingSet::DeleteTask(const std::string& id) {
  auto v = task_versions_.find(id);
  auto t = tasks_.find(id);
  if (v == task_versions_.end() || t == tasks_.end()) return;
  Write w;
  w.kind = Write::Kind::kDeleteTask;
  w.task = t->second;
  writes_.push_back(Versioned(std::move(w), v->second));
  task_versions_.erase(v);
  auto by_service = task_ids_by_service_.find(t->second.service_id);
  if (by_service != task_ids_by_service_.end()) by_service->second.erase(id);
  tasks_.erase(t);
}

void WorkingSet::UpdateService(const Service& s) {
  auto v = service_versions_.find(s.id);
  assert(v != service_versions_.end());
  Write w;
  w.kind = Write::Kind::kUpdateService;
  w.service = s;
  writes_.push_back(Versioned(std::move(w), v->second));
  v->second = Version{0, static_cast<int>(writes_.size()) - 1};
  services_[s.id].service = s;
}

}  // namespace capsule::orchestrator
