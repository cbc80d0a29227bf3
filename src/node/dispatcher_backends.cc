#include "node/dispatcher_backends.h"

#include <algorithm>

#include "manager/controlapi/object_update.h"
#include "manager/controlapi/pull_auth.h"
#include "manager/dispatcher/task_status_limits.h"
#include "objects/secret_versions.h"

namespace capsule::node {

std::vector<store::TaskEntry> ReadModelAssignmentSource::TasksOnNode(
    const std::string& node_id) const {
  return reads_.TasksOnNode(node_id);
}

store::TaskEntry ReadModelAssignmentSource::TaskById(const std::string& task_id) const {
  return reads_.TaskById(task_id);
}

namespace {

// One object of kind `kind` with its data, decoded by `decode` for its name.
template <typename Decode>
StatusOr<dispatcher::SecretPayload> ReadPayload(store::Store& store, const char* kind,
                                                const std::string& id, const Decode& decode) {
  ASSIGN_OR_RETURN(store::StoredRecord rec, store.Get(kind, id));
  ASSIGN_OR_RETURN(auto object, decode(rec.record.meta));
  std::optional<std::string> templating;
  if (object.templating) templating = object.templating->name;
  return dispatcher::SecretPayload{object.name, std::move(rec.record.data), templating};
}

}  // namespace

StatusOr<dispatcher::SecretPayload> ReadModelAssignmentSource::ReadSecret(
    const std::string& secret_id) {
  std::optional<SecretVersionRef> ref = ParseDeliveryId(secret_id);
  if (!ref) return absl::NotFoundError("secret " + secret_id + " not found");
  if (ref->version == 1) return ReadPayload(store_, kSecretsKind, secret_id, DecodeSecretMeta);
  // Version n >= 2: the name and templating are the secret's, the data its version object's.
  ASSIGN_OR_RETURN(store::StoredRecord meta, store_.Get(kSecretsKind, ref->secret_id));
  ASSIGN_OR_RETURN(Secret s, DecodeSecretMeta(meta.record.meta));
  ASSIGN_OR_RETURN(store::StoredRecord data,
                   store_.Get(kSecretVersionsKind, VersionObjectId(ref->secret_id, ref->version)));
  std::optional<std::string> templating;
  if (s.templating) templating = s.templating->name;
  return dispatcher::SecretPayload{s.name, std::move(data.record.data), templating};
}

StatusOr<dispatcher::SecretPayload> ReadModelAssignmentSource::ReadConfig(
    const std::string& config_id) {
  return ReadPayload(store_, kConfigsKind, config_id, DecodeConfigMeta);
}

StatusOr<dispatcher::SecretPayload> ReadModelAssignmentSource::ReadPullAuth(
    const std::string& pull_auth_id) {
  ASSIGN_OR_RETURN(SecretBytes header, controlapi::ReadPullAuth(store_, pull_auth_id));
  return dispatcher::SecretPayload{"", std::move(header)};
}

dispatcher::ServiceAnnotations ReadModelAssignmentSource::ServiceOf(
    const std::string& service_id) const {
  store::ServiceEntry e = reads_.ServiceById(service_id);
  if (!e) return {};
  return {e->object.spec.name, e->object.spec.labels};
}

std::string ReadModelAssignmentSource::PullAuthOf(const std::string& service_id) const {
  store::ServiceEntry e = reads_.ServiceById(service_id);
  return e ? e->object.pull_auth_id : "";
}

std::vector<dispatcher::ManagerAddr> ReadModelAssignmentSource::Managers() const {
  std::vector<dispatcher::ManagerAddr> out;
  for (const store::NodeEntry& n : reads_.Nodes()) {
    if (n->object.role != "manager" || n->object.manager_addr.empty()) continue;
    out.push_back({n->object.id, n->object.manager_addr});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.node_id < b.node_id; });
  return out;
}

std::string ReadModelAssignmentSource::DesiredRoleOf(const std::string& node_id) const {
  store::NodeEntry n = reads_.NodeById(node_id);
  if (!n) return "";
  return n->object.desired_role.empty() ? n->object.role : n->object.desired_role;
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
             [&](Task& task) -> StatusOr<store::Mutation> {
               // A report that says nothing new (a retry, a worker repeating
               // itself) is not written: no revision, nothing for etcd to keep.
               bool unchanged = dispatcher::SameReportedStatus(task.status, status);
               RETURN_IF_ERROR(dispatcher::ApplyNodeTaskStatus(node_id, status, &task));
               if (unchanged) return store::Mutation::kKeep;
               task.updated_at = status.timestamp;
               return store::Mutation::kWrite;
             })
      .status();
}

}  // namespace capsule::node
