// Templated secrets and configs on the agent: swarmkit's templatedSecretGetter /
// ExpandSecretSpec. A secret whose spec has Templating is expanded per task, just before its
// data is written to the task's tmpfs, with swarm's payload context (template/swarm_context.h):
// .Service/.Node/.Task, join, env, secret, config. As in Docker (moby builds the payload getter
// with a nil node description), .Node.Hostname and .Node.Platform.* render empty here.
//
// The expanded value is as secret as the secret: it lives only in SecretBytes and in the
// engine's wiped buffers, and is never logged. Error messages carry template text only.
#pragma once

#include <optional>
#include <string>

#include "agent/secret_cache.h"
#include "agent/task_worker.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "objects/service.h"
#include "template/swarm_context.h"

namespace capsule::agent {

// The payload context of `task` (of `service`): env, secret and config references from its
// ContainerSpec, no node description.
tmpl::SwarmTask PayloadTaskContext(const Task& task, const TaskService& service);

// Secret data for `secret "<target>"`: only IDs that `task` references, read from `cache`
// (raw data: a templated secret read this way is not expanded, as in swarmkit).
tmpl::DependencyLookup TaskSecretLookup(const SecretCache& cache, const Task& task);
// The same for `config "<target>"`: only configs `task` references.
tmpl::DependencyLookup TaskConfigLookup(const SecretCache& cache, const Task& task);

// The one entry point for templated payloads ("secret" or "config" as `kind`, for the error
// text). `driver` is Spec.Templating.Name: "golang" expands `data` with `context`; any other
// name fails with "unrecognized template type". Errors: InvalidArgument
// "failed to expand templated <kind> <id>: <why>" (swarmkit's getter.go wording).
// *used_secret (if given) says whether the template read a secret (swarmkit then treats a
// config as sensitive).
StatusOr<SecretBytes> ExpandTemplatedPayload(std::string_view kind, const std::string& id,
                                             const std::string& driver, const SecretBytes& data,
                                             const tmpl::SwarmTask& context,
                                             const tmpl::DependencyLookup& secrets,
                                             const tmpl::DependencyLookup& configs,
                                             bool* used_secret = nullptr);

// Docker's task error for a secret (or, with kind "config", a config) that could not be
// expanded (moby's setupSecretDir / setupConfigDir wrap the getter's error; the controller
// wraps the start).
std::string TemplatedSecretTaskError(const Status& expand_error, std::string_view kind = "secret");

}  // namespace capsule::agent
