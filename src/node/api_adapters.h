// The agent's image store and task logs behind the interfaces the Docker API routes declare
// (dockerapi/node_images.h, dockerapi/task_logs.h). Each adapter only translates types; the
// adapted object must outlive it. Thread-safe as the adapted object.
#pragma once

#include <memory>

#include "agent/executor/task_logs.h"
#include "agent/images/image_store.h"
#include "agent/registry/puller.h"
#include "dockerapi/node_images.h"
#include "dockerapi/task_logs.h"

namespace capsule::node {

// `puller` (optional; must outlive the adapter) serves pulls and logins; without it they are
// refused as before pulling existed.
std::unique_ptr<dockerapi::NodeImages> NewApiImages(agent::ImageStore& store,
                                                    agent::registry::Puller* puller = nullptr);

std::unique_ptr<dockerapi::TaskLogSource> NewApiTaskLogs(const agent::TaskLogs& logs);

}  // namespace capsule::node
