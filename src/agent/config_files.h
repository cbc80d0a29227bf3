// A task's configs on the node: where each is mounted and the bytes it gets. Configs arrive
// and are held like secrets (sealed by the dispatcher, kept in the SecretCache under their
// IDs) and are written to the task's secret tmpfs by the executor with the secrets (Linux
// Docker also treats configs as secret: "on unix, configs are always considered secret").
#pragma once

#include <memory>
#include <string>

#include "agent/secret_cache.h"
#include "common/secret_bytes.h"
#include "objects/service_model.h"

namespace capsule::agent {

// The absolute path of a config file in the task: a relative File.Name is under "/" (a
// secret's is under /run/secrets/), an absolute one is used as given.
std::string ConfigDestination(const ConfigReference& ref);

// The bytes task `task` gets for config reference `ref`: the one place a config's content
// comes from, so a templated config (Templating, expanded per task) is expanded here. Null
// while the config has not arrived on this node. Today the stored bytes, unexpanded.
std::shared_ptr<const SecretBytes> ConfigData(const SecretCache& cache, const Task& task,
                                              const ConfigReference& ref);

}  // namespace capsule::agent
