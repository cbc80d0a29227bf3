// What a registry says about an image name, as Docker's daemon answers
// GET /distribution/{name}/json: the descriptor of the manifest the name points to (its media
// type, digest and size) and the platforms it is for — every entry of a manifest list / OCI
// index, the platform in the image config of a Docker v2 schema 2 manifest, none for an OCI
// image manifest (Docker's daemon reads none there either).
//
// DistributionResolver decides first whether the name is the registry's at all: a name whose
// image is in this node's store without any registry origin (imported or loaded) is answered
// "unresolved" without a byte sent, so `docker service create busybox` keeps the plain name
// the nodes know (docs/features.md). Every other name is looked up on its registry.
//
// Thread-safe: each call uses its own registry client. Calls block on the registry.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/images/image_store.h"
#include "agent/registry/http_transport.h"
#include "agent/registry/pull_reference.h"
#include "agent/registry/registry_auth.h"
#include "agent/registry/registry_client.h"
#include "common/status.h"

namespace capsule::agent::registry {

// OCI's platform object, as Docker prints it.
struct DistributionPlatform {
  std::string architecture;
  std::string os;
  std::string os_version;                // "os.version"
  std::vector<std::string> os_features;  // "os.features"
  std::string variant;
};

struct DistributionInfo {
  // False: the name is only this node's (no registry was asked); the rest is empty.
  bool resolved = false;
  std::string media_type;
  std::string digest;  // "sha256:<hex>" of the manifest the name points to
  int64_t size = 0;    // bytes of that manifest
  std::vector<DistributionPlatform> platforms;
};

// Looks `ref` up on its registry. Errors with the codes Docker's daemon answers (measured on
// 20.10): NotFound "manifest unknown: manifest unknown" for an unknown tag or digest (404),
// Unauthenticated "unauthorized: authentication required" for refused credentials (401),
// PermissionDenied for a registry's "denied" (403), InvalidArgument for a manifest that is not
// one (400), and Unknown (500) for the rest: no credentials where the registry asks for them
// ("Head \"<url>\": no basic auth credentials"), a registry that cannot be reached, or one a
// loopback-only transport refuses.
StatusOr<DistributionInfo> InspectDistribution(HttpTransport& transport,
                                               const RegistryOptions& options,
                                               const PullReference& ref, const RegistryAuth& auth);

class DistributionResolver {
 public:
  // All must outlive the resolver.
  DistributionResolver(const ImageStore& store, HttpTransport& transport,
                       const RegistryOptions& options);

  // `name` as the API route gets it ("busybox:latest", "host:5000/team/app:1",
  // "host:5000/app@sha256:..."). InvalidArgument "invalid reference format" for a bad name;
  // Unknown "no manifest found for full image ID" for a bare image ID (Docker's texts);
  // else InspectDistribution's errors.
  StatusOr<DistributionInfo> Resolve(const std::string& name, const RegistryAuth& auth) const;

 private:
  const ImageStore& store_;
  HttpTransport& transport_;
  const RegistryOptions& options_;
};

}  // namespace capsule::agent::registry
