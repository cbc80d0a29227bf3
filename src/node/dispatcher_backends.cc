#include "node/dispatcher_backends.h"

#include "manager/controlapi/object_update.h"

namespace capsule::node {

std::vector<store::TaskEntry> ReadModelAssignmentSource::TasksOnNode(
    const std::string& node_id) const {
  return reads_.TasksOnNode(node_id);
}

store::TaskEntry ReadModelAssignmentSource::TaskById(const std::string& task_id) const {
  return reads_.TaskById(task_id);
}

StatusOr<dispatcher::SecretPayload> ReadModelAssignmentSource::ReadSecret(
    const std::string& secret_id) {
  ASSIGN_OR_RETURN(store::StoredRecord rec, store_.Get(kSecretsKind, secret_id));
  ASSIGN_OR_RETURN(Secret secret, DecodeSecretMeta(rec.record.meta));
  return dispatcher::SecretPayload{secret.name, std::move(rec.record.data)};
}

uint64_t ReadModelAssignmentSource::Subscribe(std::function<void()> fn) {
  return reads_.Subscribe([fn = std::move(fn)](int64_t) { fn(); });
}

void ReadModelAssignmentSource::Unsubscribe(uint64_t id) { reads_.Unsubscribe(id); }

Status StoreTaskStatusStore::UpdateTaskStatus(const std::string& node_id,
                                              const std::string& task_id,
                                              const TaskStatus& status) {
  return controlapi::UpdateTask(
             store_, task_id,
             [&](Task& task) {
               RETURN_IF_ERROR(dispatcher::ApplyNodeTaskStatus(node_id, status, &task));
               task.updated_at = status.timestamp;
               return absl::OkStatus();
             })
      .status();
}

}  // namespace capsule::node
