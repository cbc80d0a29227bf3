#include "manager/dispatcher/session_assignments.h"

#include <spdlog/spdlog.h>

#include "objects/secret_versions.h"

namespace capsule::dispatcher {

bool SessionAssignments::Next(const std::vector<store::TaskEntry>& tasks, AssignmentSource& source,
                              const SecretSealer& seal, api::AssignmentChanges* out, bool* retry) {
  out->Clear();
  const bool full = !sent_full_;
  out->set_full_set(full);
  if (full) {
    tasks_.clear();
    task_auths_.clear();
    secrets_.clear();
  }

  std::map<std::string, int64_t> now_tasks;
  enum class Kind { kSecret, kConfig, kPullAuth };
  std::map<std::string, Kind> wanted;            // ID → what it is
  std::map<std::string, std::string> auth_of;    // service ID → its credentials' ID
  std::map<std::string, std::string> now_auths;  // task ID → the credentials ID sent with it
  for (const store::TaskEntry& e : tasks) {
    const Task& t = e->object;
    now_tasks[t.id] = e->mod_revision;
    auto known = auth_of.find(t.service_id);
    if (known == auth_of.end()) {
      known = auth_of.emplace(t.service_id, source.PullAuthOf(t.service_id)).first;
    }
    const std::string& auth = known->second;
    if (!auth.empty()) now_auths[t.id] = auth;
    auto sent = tasks_.find(t.id);
    auto sent_auth = task_auths_.find(t.id);
    // A task goes again when it changed, or when its service's credentials did (so the node
    // looks them up under their new ID).
    if (sent == tasks_.end() || sent->second != e->mod_revision ||
        (sent_auth == task_auths_.end() ? "" : sent_auth->second) != auth) {
      api::AssignedTask* at = out->add_tasks();
      at->set_id(t.id);
      at->set_task(EncodeTaskMeta(t));
      at->set_version(e->mod_revision);
      ServiceAnnotations service = source.ServiceOf(t.service_id);
      at->set_service_name(service.name);
      at->mutable_service_labels()->insert(service.labels.begin(), service.labels.end());
      at->set_registry_auth_id(auth);
    }
    if (NeedsSecrets(t.status.state)) {
      // Each (secret, version) a task mounts is its own item (objects/secret_versions.h):
      // version 1 under the secret's ID, as before versions existed.
      for (const SecretReference& ref : t.spec.container.secrets) {
        wanted[DeliveryId(ref.secret_id, PinnedVersion(t.secret_versions, ref.secret_id))] =
            Kind::kSecret;
      }
      for (const ConfigReference& ref : t.spec.container.configs) {
        wanted[ref.config_id] = Kind::kConfig;
      }
      // The service's registry credentials, like a secret: only while a task of the service
      // on this node may still pull its image.
      if (!auth.empty()) wanted[auth] = Kind::kPullAuth;
    }
  }
  task_auths_ = std::move(now_auths);
  for (const auto& [id, version] : tasks_) {
    if (now_tasks.count(id) == 0) out->add_removed_task_ids(id);
  }
  tasks_ = std::move(now_tasks);

  // Configs go out as secrets do (AssignedSecret, sealed for the node): the agent keeps both
  // in its secret cache by ID and mounts them from the task's secret tmpfs.
  for (const auto& [id, what] : wanted) {
    if (secrets_.count(id) > 0) continue;
    const char* kind = what == Kind::kConfig     ? "config"
                       : what == Kind::kPullAuth ? "registry credentials"
                                                 : "secret";
    StatusOr<SecretPayload> payload = what == Kind::kConfig     ? source.ReadConfig(id)
                                      : what == Kind::kPullAuth ? source.ReadPullAuth(id)
                                                                : source.ReadSecret(id);
    if (!payload.ok()) {
      spdlog::warn("dispatcher: cannot read {} {} for an assignment: {}", kind, id,
                   payload.status().ToString());
      *retry = true;
      continue;
    }
    StatusOr<std::string> sealed = seal(id, payload->data);
    if (!sealed.ok()) {
      spdlog::warn("dispatcher: cannot seal {} {}: {}", kind, id, sealed.status().ToString());
      *retry = true;
      continue;
    }
    api::AssignedSecret* as = out->add_secrets();
    as->set_id(id);
    as->set_name(payload->name);
    as->set_sealed_data(*std::move(sealed));
    if (payload->templating) as->set_templating(*payload->templating);
    secrets_.insert(id);
  }
  for (auto it = secrets_.begin(); it != secrets_.end();) {
    if (wanted.count(*it) == 0) {
      out->add_removed_secret_ids(*it);
      it = secrets_.erase(it);
    } else {
      ++it;
    }
  }
  sent_full_ = true;
  return full || out->tasks_size() > 0 || out->removed_task_ids_size() > 0 ||
         out->secrets_size() > 0 || out->removed_secret_ids_size() > 0;
}

}  // namespace capsule::dispatcher
