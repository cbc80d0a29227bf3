#include "manager/orchestrator/fake_cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <tuple>

#include "common/ids.h"

namespace capsule::orchestrator::testing {

ServiceSpec Replicated(uint64_t replicas, const std::string& image) {
  ServiceSpec s;
  s.name = "app";
  s.replicas = replicas;
  s.task_template.container.image = image;
  return s;
}

Node ReadyNode(const std::string& id, const std::string& hostname) {
  Node n;
  n.id = id;
  n.hostname = hostname;
  n.role = "worker";
  n.state = "ready";
  n.availability = "active";
  return n;
}

void FakeCluster::PutNode(const Node& n) {
  ++revision_;
  nodes_[n.id] = store::Versioned<Node>{n, revision_, revision_, ""};
}

void FakeCluster::SetNode(const std::string& id, const std::function<void(Node&)>& change) {
  store::Versioned<Node>& v = nodes_.at(id);
  change(v.object);
  v.mod_revision = ++revision_;
}

std::string FakeCluster::CreateService(const ServiceSpec& spec) {
  Service s;
  s.id = NewId();
  s.created_at = s.updated_at = clock_.Now();
  s.spec = spec;
  ++revision_;
  services_[s.id] = store::Versioned<Service>{s, revision_, revision_, ""};
  return s.id;
}

void FakeCluster::UpdateService(const std::string& id,
                                const std::function<void(ServiceSpec&)>& change) {
  store::Versioned<Service>& v = services_.at(id);
  v.object.previous_spec = v.object.spec;
  change(v.object.spec);
  v.object.update_status.reset();
  v.object.updated_at = clock_.Now();
  v.mod_revision = ++revision_;
}

void FakeCluster::RollbackService(const std::string& id) {
  store::Versioned<Service>& v = services_.at(id);
  std::swap(v.object.spec, *v.object.previous_spec);
  v.object.update_status =
      UpdateStatus{"rollback_started", clock_.Now(), {}, "manually requested rollback"};
  v.object.updated_at = clock_.Now();
  v.mod_revision = ++revision_;
}

void FakeCluster::PinSecretVersion(const std::string& id, const std::string& secret_id,
                                   int64_t version) {
  store::Versioned<Service>& v = services_.at(id);
  if (v.object.secret_refresh.count(secret_id) == 0) {
    v.object.previous_secret_versions = v.object.secret_versions;
    v.object.update_status.reset();
  }
  v.object.secret_versions[secret_id] = version;
  v.object.updated_at = clock_.Now();
  v.mod_revision = ++revision_;
}

void FakeCluster::SetSecretRefresh(const std::string& id, const std::string& secret_id,
                                   const std::string& policy) {
  store::Versioned<Service>& v = services_.at(id);
  if (policy.empty()) {
    v.object.secret_refresh.erase(secret_id);
  } else {
    v.object.secret_refresh[secret_id] = policy;
  }
  v.object.updated_at = clock_.Now();
  v.mod_revision = ++revision_;
}

void FakeCluster::RemoveService(const std::string& id) {
  services_.erase(id);
  ++revision_;
}

void FakeCluster::SetTaskState(const std::string& task_id, TaskState state,
                               const std::string& err) {
  store::Versioned<Task>& v = tasks_.at(task_id);
  v.object.status.state = state;
  v.object.status.timestamp = clock_.Now();
  v.object.status.message = TaskStateName(state);
  v.object.status.err = err;
  v.mod_revision = ++revision_;
}

void FakeCluster::AgentsFollow() {
  std::vector<std::pair<std::string, TaskState>> changes;
  for (const auto& [id, v] : tasks_) {
    const Task& t = v.object;
    auto n = nodes_.find(t.node_id);
    if (t.node_id.empty() || n == nodes_.end() || n->second.object.state != "ready") continue;
    if (t.desired_state >= TaskState::kShutdown) {
      if (t.status.state >= TaskState::kAssigned && t.status.state <= TaskState::kRunning) {
        changes.emplace_back(id, TaskState::kShutdown);
      }
    } else if (t.desired_state == TaskState::kRunning && t.status.state >= TaskState::kAssigned &&
               t.status.state < TaskState::kRunning) {
      changes.emplace_back(id, TaskState::kRunning);
    } else if (t.desired_state == TaskState::kReady && t.status.state >= TaskState::kAssigned &&
               t.status.state < TaskState::kReady) {
      changes.emplace_back(id, TaskState::kReady);
    }
  }
  for (const auto& [id, state] : changes) SetTaskState(id, state);
}

size_t FakeCluster::Pass(Planner& planner) {
  last_writes_ = planner.Plan(snapshot());
  std::vector<int64_t> revisions(last_writes_.size(), 0);
  size_t applied = 0;
  for (size_t i = 0; i < last_writes_.size(); ++i) {
    const Write& w = last_writes_[i];
    const int64_t expected = w.after >= 0 ? revisions[w.after] : w.expected_revision;
    switch (w.kind) {
      case Write::Kind::kCreateTask:
        if (tasks_.count(w.task.id) > 0) return applied;
        ++revision_;
        tasks_[w.task.id] = store::Versioned<Task>{w.task, revision_, revision_, ""};
        break;
      case Write::Kind::kUpdateTask: {
        auto it = tasks_.find(w.task.id);
        if (it == tasks_.end() || it->second.mod_revision != expected) return applied;
        it->second.object = w.task;
        it->second.mod_revision = ++revision_;
        break;
      }
      case Write::Kind::kDeleteTask: {
        auto it = tasks_.find(w.task.id);
        if (it == tasks_.end() || it->second.mod_revision != expected) return applied;
        tasks_.erase(it);
        ++revision_;
        break;
      }
      case Write::Kind::kUpdateService: {
        auto it = services_.find(w.service.id);
        if (it == services_.end() || it->second.mod_revision != expected) return applied;
        it->second.object = w.service;
        it->second.mod_revision = ++revision_;
        break;
      }
    }
    revisions[i] = revision_;
    ++applied;
  }
  return applied;
}

void FakeCluster::Settle(Planner& planner, bool agents, int max_passes) {
  for (int i = 0; i < max_passes; ++i) {
    const size_t writes = Pass(planner);
    const int64_t before = revision_;
    if (agents) AgentsFollow();
    if (writes == 0 && revision_ == before) return;
  }
  ADD_FAILURE_AT(__FILE__, __LINE__);
}

Snapshot FakeCluster::snapshot() const {
  Snapshot s;
  for (const auto& [id, v] : services_)
    s.services.push_back(std::make_shared<store::Versioned<Service>>(v));
  for (const auto& [id, v] : tasks_) s.tasks.push_back(std::make_shared<store::Versioned<Task>>(v));
  for (const auto& [id, v] : nodes_) s.nodes.push_back(std::make_shared<store::Versioned<Node>>(v));
  s.task_history_retention_limit = retention_;
  return s;
}

std::vector<Task> FakeCluster::TasksOf(const std::string& service_id) const {
  std::vector<Task> out;
  for (const auto& [id, v] : tasks_) {
    if (v.object.service_id == service_id) out.push_back(v.object);
  }
  std::sort(out.begin(), out.end(), [](const Task& a, const Task& b) {
    return std::tie(a.slot, a.node_id, a.created_at) < std::tie(b.slot, b.node_id, b.created_at);
  });
  return out;
}

std::vector<Task> FakeCluster::Runnable(const std::string& service_id) const {
  std::vector<Task> out;
  for (const Task& t : TasksOf(service_id)) {
    if (t.desired_state <= TaskState::kRunning) out.push_back(t);
  }
  return out;
}

std::vector<Task> FakeCluster::RunningOn(const std::string& service_id,
                                         const std::string& node_id) const {
  std::vector<Task> out;
  for (const Task& t : TasksOf(service_id)) {
    if (t.node_id == node_id && t.status.state == TaskState::kRunning &&
        t.desired_state == TaskState::kRunning) {
      out.push_back(t);
    }
  }
  return out;
}

const Task* FakeCluster::task(const std::string& id) const {
  auto it = tasks_.find(id);
  return it == tasks_.end() ? nullptr : &it->second.object;
}

}  // namespace capsule::orchestrator::testing
