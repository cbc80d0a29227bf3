// In-memory AssignmentSource + TaskStatusStore for dispatcher tests: tasks with versions,
// secrets with data, change notifications.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "manager/dispatcher/assignment_source.h"

namespace capsule::grpctest {

class FakeSource : public dispatcher::AssignmentSource, public dispatcher::TaskStatusStore {
 public:
  std::vector<store::TaskEntry> TasksOnNode(const std::string& node_id) const override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<store::TaskEntry> out;
    for (const auto& [id, e] : tasks_) {
      if (e->object.node_id == node_id) out.push_back(e);
    }
    return out;
  }
  store::TaskEntry TaskById(const std::string& id) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tasks_.find(id);
    return it == tasks_.end() ? nullptr : it->second;
  }
  StatusOr<dispatcher::SecretPayload> ReadSecret(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_;
    auto it = secrets_.find(id);
    if (it == secrets_.end()) return absl::NotFoundError("secret " + id + " not found");
    return dispatcher::SecretPayload{it->second.first, SecretBytes::CopyFrom(it->second.second)};
  }
  // Configs live with the secrets here (IDs never collide in these tests).
  StatusOr<dispatcher::SecretPayload> ReadConfig(const std::string& id) override {
    return ReadSecret(id);
  }
  uint64_t Subscribe(std::function<void()> fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    subs_[++next_sub_] = std::move(fn);
    return next_sub_;
  }
  void Unsubscribe(uint64_t id) override {
    std::lock_guard<std::mutex> lock(mu_);
    subs_.erase(id);
  }
  Status UpdateTaskStatus(const std::string& node_id, const std::string& task_id,
                          const TaskStatus& status) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = tasks_.find(task_id);
      if (it == tasks_.end()) return absl::NotFoundError("task " + task_id + " not found");
      Task t = it->second->object;
      RETURN_IF_ERROR(dispatcher::ApplyNodeTaskStatus(node_id, status, &t));
      PutLocked(std::move(t));
    }
    Notify();
    return absl::OkStatus();
  }

  void PutSecret(const std::string& id, const std::string& name, const std::string& data) {
    std::lock_guard<std::mutex> lock(mu_);
    secrets_[id] = {name, data};
  }
  void PutTask(Task t) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      PutLocked(std::move(t));
    }
    Notify();
  }
  void DeleteTask(const std::string& id) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      tasks_.erase(id);
    }
    Notify();
  }
  int reads() {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }
  std::vector<dispatcher::ManagerAddr> Managers() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return managers_;
  }
  void SetManagers(std::vector<dispatcher::ManagerAddr> managers) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      managers_ = std::move(managers);
    }
    Notify();
  }
  std::string DesiredRoleOf(const std::string& node_id) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = roles_.find(node_id);
    return it == roles_.end() ? "" : it->second;
  }
  void SetDesiredRole(const std::string& node_id, const std::string& role) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      roles_[node_id] = role;
    }
    Notify();
  }

 private:
  void PutLocked(Task t) {
    auto e = std::make_shared<store::Versioned<Task>>();
    e->mod_revision = ++revision_;
    e->object = std::move(t);
    tasks_[e->object.id] = std::move(e);
  }
  void Notify() {
    std::vector<std::function<void()>> subs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [id, fn] : subs_) subs.push_back(fn);
    }
    for (auto& fn : subs) fn();
  }

  mutable std::mutex mu_;
  std::map<std::string, store::TaskEntry> tasks_;
  std::map<std::string, std::pair<std::string, std::string>> secrets_;
  std::map<uint64_t, std::function<void()>> subs_;
  std::map<std::string, std::string> roles_;  // DesiredRoleOf
  uint64_t next_sub_ = 0;
  int64_t revision_ = 100;
  int reads_ = 0;
  std::vector<dispatcher::ManagerAddr> managers_;
};

inline Task MakeTask(const std::string& id, const std::string& node, TaskState state,
                     std::vector<std::string> secret_ids) {
  Task t;
  t.id = id;
  t.service_id = "svc1";
  t.node_id = node;
  t.slot = 1;
  t.spec.container.image = "busybox:1";
  for (const std::string& s : secret_ids) {
    SecretReference r;
    r.secret_id = s;
    r.secret_name = "name-" + s;
    r.has_file = true;
    r.target = "t-" + s;
    t.spec.container.secrets.push_back(r);
  }
  t.status.state = state;
  return t;
}

}  // namespace capsule::grpctest
