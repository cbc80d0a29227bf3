// The node's ImageFetcher (agent/image_fetcher.h): its image store and its Puller. The
// credentials (an X-Registry-Auth value) are decoded only for the pull; one that does not
// decode means an anonymous pull, as in Docker's swarm executor ("invalid authconfig").
// Progress messages are dropped. Thread-safe (the store and the puller are).
#pragma once

#include <memory>

#include "agent/image_fetcher.h"
#include "agent/images/image_store.h"
#include "agent/registry/puller.h"

namespace capsule::agent::registry {

// `store` and `puller` must outlive the fetcher.
std::unique_ptr<ImageFetcher> NewRegistryImageFetcher(const ImageStore& store, Puller& puller);

}  // namespace capsule::agent::registry
