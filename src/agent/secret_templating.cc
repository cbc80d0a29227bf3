#include "agent/secret_templating.h"

#include <algorithm>
#include <map>

#include "objects/secret_versions.h"

namespace capsule::agent {

tmpl::SwarmTask PayloadTaskContext(const Task& task, const TaskService& service) {
  tmpl::SwarmTask t;
  t.service_id = task.service_id;
  t.service_name = service.name;
  t.service_labels = service.labels;
  t.node_id = task.node_id;
  t.task_id = task.id;
  t.slot = task.slot;
  t.task_name = tmpl::SwarmTaskName(service.name, task.slot, task.node_id, task.id);
  t.env = task.spec.container.env;
  for (const SecretReference& ref : task.spec.container.secrets) {
    if (ref.has_file) t.secrets.push_back({ref.secret_id, ref.target});
  }
  for (const ConfigReference& ref : task.spec.container.configs) {
    if (ref.has_file) t.configs.push_back({ref.config_id, ref.target});
  }
  return t;
}

namespace {

// Raw data of the objects `ids` (the task's own references) from `cache`; anything else is
// "<kind> <id> not found".
tmpl::DependencyLookup LookupAmong(const SecretCache& cache, std::string kind,
                                   std::vector<std::string> ids) {
  return [&cache, kind = std::move(kind),
          ids = std::move(ids)](const std::string& id) -> absl::StatusOr<tmpl::Str> {
    std::shared_ptr<const SecretBytes> data;
    if (std::find(ids.begin(), ids.end(), id) != ids.end()) data = cache.Get(id);
    if (!data) return absl::NotFoundError(kind + " " + id + " not found");
    return tmpl::Str(data->view());
  };
}

}  // namespace

tmpl::DependencyLookup TaskSecretLookup(const SecretCache& cache, const Task& task) {
  // Secret ID → the delivery ID of the version this task mounts (objects/secret_versions.h).
  std::map<std::string, std::string> versions;
  for (const SecretReference& ref : task.spec.container.secrets) {
    versions[ref.secret_id] =
        DeliveryId(ref.secret_id, PinnedVersion(task.secret_versions, ref.secret_id));
  }
  return
      [&cache, versions = std::move(versions)](const std::string& id) -> absl::StatusOr<tmpl::Str> {
        std::shared_ptr<const SecretBytes> data;
        if (auto it = versions.find(id); it != versions.end()) data = cache.Get(it->second);
        if (!data) return absl::NotFoundError("secret " + id + " not found");
        return tmpl::Str(data->view());
      };
}

tmpl::DependencyLookup TaskConfigLookup(const SecretCache& cache, const Task& task) {
  std::vector<std::string> ids;
  for (const ConfigReference& ref : task.spec.container.configs) ids.push_back(ref.config_id);
  return LookupAmong(cache, "config", std::move(ids));
}

StatusOr<SecretBytes> ExpandTemplatedPayload(std::string_view kind, const std::string& id,
                                             const std::string& driver, const SecretBytes& data,
                                             const tmpl::SwarmTask& context,
                                             const tmpl::DependencyLookup& secrets,
                                             const tmpl::DependencyLookup& configs,
                                             bool* used_secret) {
  const std::string prefix =
      std::string("failed to expand templated ") + std::string(kind) + " " + id + ": ";
  if (driver != "golang") return absl::InvalidArgumentError(prefix + "unrecognized template type");
  absl::StatusOr<tmpl::Str> out =
      tmpl::ExpandPayload(context, data.view(), secrets, configs, used_secret);
  if (!out.ok()) {
    return absl::InvalidArgumentError(prefix + std::string(out.status().message()));
  }
  return SecretBytes::CopyFrom(std::string_view(*out));  // *out is wiped when it goes
}

std::string TemplatedSecretTaskError(const Status& expand_error, std::string_view kind) {
  const std::string k(kind);
  return "starting container failed: unable to get " + k + " from " + k +
         " store: " + std::string(expand_error.message());
}

}  // namespace capsule::agent
