// What a node needs to get a task's image from a registry: whether its image store has the
// image already, and a pull with the service's registry credentials. The real one is
// registry/image_fetcher.h (the node's Puller into its ImageStore); tests use fakes.
// Implementations are thread-safe.
#pragma once

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::agent {

class ImageFetcher {
 public:
  virtual ~ImageFetcher() = default;
  // Whether the node's image store has `image` (as a task's spec names it).
  virtual bool Has(const std::string& image) const = 0;
  // Pulls `image` into the node's image store. `registry_auth` is the X-Registry-Auth value
  // of the service (null or empty: anonymous). Errors are the puller's (puller.h); their
  // messages never contain the credentials.
  virtual Status Pull(const std::string& image, const SecretBytes* registry_auth) = 0;
};

}  // namespace capsule::agent
