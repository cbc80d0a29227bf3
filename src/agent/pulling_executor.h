// An Executor that pulls a task's image before preparing it, as swarmkit's container
// controller does in Prepare (the task is then PREPARING: the task worker reports that state
// before it calls Prepare). Only a missing image is pulled: an image the node has — loaded,
// imported or pulled earlier — is used as it is, with no registry contact (docs/features.md
// says why this differs from Docker, which pulls a mutable tag again on every task unless
// DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1).
//
// A pull that fails (registry down, credentials refused, unknown tag) is logged — the image
// and the error, never the credentials — and Prepare goes on, so the task fails as in Docker:
// NotFound "No such image: <image>" from the wrapped executor (the worker rejects the task;
// the orchestrator retries it per restart policy).
//
// Concurrent Prepares needing the same image share one pull: a task that finds a pull of its
// image under way waits for it; when that pull fails and was made with other credentials
// than its own, it pulls again with its own. Every other call goes to the wrapped executor
// unchanged. Thread-safe.
#pragma once

#include <memory>

#include "agent/executor/executor.h"
#include "agent/image_fetcher.h"

namespace capsule::agent {

// `fetcher` must outlive the executor.
std::unique_ptr<Executor> NewPullingExecutor(std::unique_ptr<Executor> inner,
                                             ImageFetcher& fetcher);

}  // namespace capsule::agent
