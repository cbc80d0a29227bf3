#include "manager/dispatcher/session_assignments.h"

#include <spdlog/spdlog.h>

namespace capsule::dispatcher {

bool SessionAssignments::Next(const std::vector<store::TaskEntry>& tasks, AssignmentSource& source,
                              const SecretSealer& seal, api::AssignmentChanges* out, bool* retry) {
  out->Clear();
  const bool full = !sent_full_;
  out->set_full_set(full);
  if (full) {
    tasks_.clear();
    secrets_.clear();
  }

  std::map<std::string, int64_t> now_tasks;
  std::map<std::string, bool> wanted;  // secret or config ID → is a config
  for (const store::TaskEntry& e : tasks) {
    const Task& t = e->object;
    now_tasks[t.id] = e->mod_revision;
    auto sent = tasks_.find(t.id);
    if (sent == tasks_.end() || sent->second != e->mod_revision) {
      api::AssignedTask* at = out->add_tasks();
      at->set_id(t.id);
      at->set_task(EncodeTaskMeta(t));
      at->set_version(e->mod_revision);
      ServiceAnnotations service = source.ServiceOf(t.service_id);
      at->set_service_name(service.name);
      at->mutable_service_labels()->insert(service.labels.begin(), service.labels.end());
    }
    if (NeedsSecrets(t.status.state)) {
      for (const SecretReference& ref : t.spec.container.secrets) wanted[ref.secret_id] = false;
      for (const ConfigReference& ref : t.spec.container.configs) wanted[ref.config_id] = true;
    }
  }
  for (const auto& [id, version] : tasks_) {
    if (now_tasks.count(id) == 0) out->add_removed_task_ids(id);
  }
  tasks_ = std::move(now_tasks);

  // Configs go out as secrets do (AssignedSecret, sealed for the node): the agent keeps both
  // in its secret cache by ID and mounts them from the task's secret tmpfs.
  for (const auto& [id, is_config] : wanted) {
    if (secrets_.count(id) > 0) continue;
    const char* kind = is_config ? "config" : "secret";
    StatusOr<SecretPayload> payload = is_config ? source.ReadConfig(id) : source.ReadSecret(id);
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
