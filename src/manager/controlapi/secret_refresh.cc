#include "manager/controlapi/secret_refresh.h"

#include "absl/strings/str_cat.h"
#include "objects/secret_refresh.h"

namespace capsule::controlapi {
namespace {

const std::vector<SecretReference>& Refs(const ServiceSpec& spec) {
  return spec.task_template.container.secrets;
}

}  // namespace

Status ApplyRefreshChanges(const ServiceSpec& spec, const RefreshChanges& changes,
                           std::map<std::string, std::string>* policies) {
  std::map<std::string, std::string> out = *policies;
  for (const auto& [name, value] : changes) {
    std::string id;
    for (const SecretReference& r : Refs(spec)) {
      if (r.secret_name != name) continue;
      id = r.secret_id;
      if (!value.empty() && !RefreshableTarget(r.target)) {
        return absl::InvalidArgumentError(
            absl::StrCat("secret refresh: secret ", name, " is mounted at ", r.target,
                         "; live refresh needs a target inside /run/secrets"));
      }
    }
    if (id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("secret refresh: the service does not use secret ", name));
    }
    if (value.empty()) {
      out.erase(id);
      continue;
    }
    ASSIGN_OR_RETURN(out[id], ParseRefreshPolicy(value));
  }
  *policies = std::move(out);
  return absl::OkStatus();
}

size_t PruneRefreshPolicies(const ServiceSpec& spec, std::map<std::string, std::string>* policies) {
  size_t dropped = 0;
  for (auto it = policies->begin(); it != policies->end();) {
    bool used = false;
    bool refreshable = true;
    for (const SecretReference& r : Refs(spec)) {
      if (r.secret_id != it->first) continue;
      used = true;
      refreshable = refreshable && RefreshableTarget(r.target);
    }
    if (used && refreshable) {
      ++it;
    } else {
      it = policies->erase(it);
      ++dropped;
    }
  }
  return dropped;
}

std::map<std::string, std::string> RefreshPoliciesByName(
    const ServiceSpec& spec, const std::map<std::string, std::string>& policies) {
  std::map<std::string, std::string> out;
  for (const SecretReference& r : Refs(spec)) {
    auto it = policies.find(r.secret_id);
    if (it != policies.end()) out[r.secret_name] = RefreshPolicyText(it->second);
  }
  return out;
}

}  // namespace capsule::controlapi
