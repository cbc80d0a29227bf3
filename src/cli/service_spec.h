// Docker's ServiceSpec JSON as the docker 20.10 CLI writes it: built from flags for
// `service create` (same fields, order and defaults as the bytes docker sends), and changed
// in place for `service update` / `scale` (everything not touched is sent back as read).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/host.h"
#include "cli/http_client.h"
#include "cli/service_flags.h"
#include "common/status.h"

namespace capsule::cli {

using OrderedJson = nlohmann::ordered_json;

// Looks the secrets up by name (GET /secrets?filters={"name":{…}}, a prefix filter, then an
// exact match here, as docker) and returns the references
// [{"File":{"Name","UID","GID","Mode"},"SecretID","SecretName"}] in flag order.
// Errors: InvalidArgument "duplicate secret target for X not allowed", NotFound
// "secret not found: X", daemon errors. No request when `secrets` is empty.
StatusOr<OrderedJson> ResolveSecrets(HttpClient& client, const std::vector<SecretFlag>& secrets);

// `-e` values as docker applies them: "K" becomes "K=<value>" when K is set in the CLI's
// environment; a later value for the same key replaces the earlier one (moved to the end).
// An empty key → InvalidArgument "invalid environment variable: =x".
StatusOr<std::vector<std::string>> NormalizeEnv(const std::vector<std::string>& values,
                                                const EnvLookup& env);

// The POST /services/create body. Errors: "Unknown mode: X, only replicated and global
// supported", "replicas can only be used with replicated mode".
StatusOr<OrderedJson> BuildCreateSpec(const ServiceFlags& flags, const OrderedJson& secret_refs,
                                      const std::vector<std::string>& env);

// Applies the update flags to `spec` (the service's Spec as read). `added_secrets` are the
// resolved --secret-add references; `env_add` the normalized --env-add values.
Status ApplyUpdate(const ServiceFlags& flags, const OrderedJson& added_secrets,
                   const std::vector<std::string>& env_add, OrderedJson* spec);

}  // namespace capsule::cli
