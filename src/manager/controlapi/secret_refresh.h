// The control API's side of live refresh (issue 14 part 3; objects/secret_refresh.h,
// docs/secret-versions.md): checking and applying the `--secret-refresh` changes a create or
// update asks for, by the secret's name as the service's references use it. Pure functions.
#pragma once

#include <map>
#include <string>

#include "common/status.h"
#include "objects/service.h"

namespace capsule::controlapi {

// Secret name → the policy asked for: "signal:SIG", "none", or "" (remove the policy).
using RefreshChanges = std::map<std::string, std::string>;

// Applies `changes` to `policies` (secret ID → canonical policy) for a service with `spec`.
// InvalidArgument, nothing changed, when a value is not a policy (ParseRefreshPolicy's
// message), when `spec` references no secret of that name ("secret refresh: the service does
// not use secret <name>"), or when a reference to it has a target outside /run/secrets
// ("secret refresh: secret <name> is mounted at <target>; live refresh needs a target inside
// /run/secrets").
Status ApplyRefreshChanges(const ServiceSpec& spec, const RefreshChanges& changes,
                           std::map<std::string, std::string>* policies);

// Drops the policies of secrets `spec` no longer references, or now mounts outside
// /run/secrets (a Docker `service update --secret-rm` or a new target). → how many went.
size_t PruneRefreshPolicies(const ServiceSpec& spec, std::map<std::string, std::string>* policies);

// The policies by secret name, for display ("signal:SIGHUP", "none").
std::map<std::string, std::string> RefreshPoliciesByName(
    const ServiceSpec& spec, const std::map<std::string, std::string>& policies);

}  // namespace capsule::controlapi
