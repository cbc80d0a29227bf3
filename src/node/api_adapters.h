// The agent's image store and task logs behind the interfaces the Docker API routes declare
// (dockerapi/node_images.h, dockerapi/task_logs.h), and the manager's log broker behind
// dockerapi::RemoteTaskLogSource. Each adapter only translates types; the
// adapted object must outlive it. Thread-safe as the adapted object.
#pragma once

#include <memory>

#include "agent/executor/task_logs.h"
#include "agent/images/image_store.h"
#include "agent/registry/distribution_inspect.h"
#include "agent/registry/puller.h"
#include "dockerapi/node_images.h"
#include "dockerapi/task_logs.h"
#include "manager/logbroker/log_broker.h"
#include "manager/logbroker/routed_log_reader.h"

namespace capsule::node {

// `puller` (optional; must outlive the adapter) serves pulls and logins; without it they are
// refused as before pulling existed. `resolver` (optional, likewise) answers
// GET /distribution; without it no name is resolved.
std::unique_ptr<dockerapi::NodeImages> NewApiImages(
    agent::ImageStore& store, agent::registry::Puller* puller = nullptr,
    const agent::registry::DistributionResolver* resolver = nullptr);

std::unique_ptr<dockerapi::TaskLogSource> NewApiTaskLogs(const agent::TaskLogs& logs);

// Other nodes' task logs through the routed reader (owned by the adapter).
std::unique_ptr<dockerapi::RemoteTaskLogSource> NewApiRemoteLogs(
    std::unique_ptr<logbroker::RoutedLogReader> reader);

}  // namespace capsule::node
