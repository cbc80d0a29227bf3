// The dispatcher's AssignmentSource and TaskStatusStore on a manager: tasks come from the read
// model (indexed by node), secret data is read from the store on demand (never kept in the
// read model), and task status reports are read-modify-write transactions on the task object;
// a report equal to the stored status (dispatcher::SameReportedStatus) writes nothing.
// The managers sent to nodes are the read model's manager node objects.
// Thread-safe. `store` and `reads` must outlive them.
#pragma once

#include "manager/dispatcher/assignment_source.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::node {

class ReadModelAssignmentSource final : public dispatcher::AssignmentSource {
 public:
  ReadModelAssignmentSource(store::Store& store, store::ReadModel& reads)
      : store_(store), reads_(reads) {}
  std::vector<store::TaskEntry> TasksOnNode(const std::string& node_id) const override;
  store::TaskEntry TaskById(const std::string& task_id) const override;
  StatusOr<dispatcher::SecretPayload> ReadSecret(const std::string& secret_id) override;
  dispatcher::ServiceAnnotations ServiceOf(const std::string& service_id) const override;
  // The node objects of role manager with their ManagerStatus.Addr, by node ID.
  std::vector<dispatcher::ManagerAddr> Managers() const override;
  std::string DesiredRoleOf(const std::string& node_id) const override;
  std::string PullAuthOf(const std::string& service_id) const override;
  StatusOr<dispatcher::SecretPayload> ReadConfig(const std::string& config_id) override;
  StatusOr<dispatcher::SecretPayload> ReadPullAuth(const std::string& pull_auth_id) override;
  uint64_t Subscribe(std::function<void()> fn) override;
  void Unsubscribe(uint64_t id) override;

 private:
  store::Store& store_;
  store::ReadModel& reads_;
};

class StoreTaskStatusStore final : public dispatcher::TaskStatusStore {
 public:
  explicit StoreTaskStatusStore(store::Store& store) : store_(store) {}
  Status UpdateTaskStatus(const std::string& node_id, const std::string& task_id,
                          const TaskStatus& status) override;

 private:
  store::Store& store_;
};

}  // namespace capsule::node
