// Image manifests as registries serve them: Docker's v2 schema 2 manifest and manifest
// list, OCI's image manifest and index. Parsing only; digests are checked by the caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::agent::registry {

inline constexpr char kDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kOciIndex[] = "application/vnd.oci.image.index.v1+json";
// The Accept header of a manifest request: every kind above.
std::string ManifestAccept();

enum class Compression { kNone, kGzip, kZstd };

struct Descriptor {
  std::string media_type;
  std::string digest;  // "sha256:<hex>" (checked by ParseManifest)
  int64_t size = 0;
  // Index entries only.
  std::string os, architecture, variant;
};

struct Manifest {
  bool is_index = false;  // a manifest list / index: `manifests` is set
  std::vector<Descriptor> manifests;
  Descriptor config;  // an image manifest: its config and layers
  std::vector<Descriptor> layers;
};

// `content_type`: the response's Content-Type (may be empty: the mediaType field decides).
// InvalidArgument for JSON that is neither kind, a schema 1 manifest ("... is not
// supported"), a bad digest, or a layer of an unknown media type.
StatusOr<Manifest> ParseManifest(const std::string& body, const std::string& content_type);

// The compression a layer's media type names.
StatusOr<Compression> LayerCompression(const std::string& media_type);

struct Platform {
  std::string os = "linux";
  std::string architecture;    // Go's GOARCH: "amd64", "arm64", "arm", ...
  std::string variant;         // "v8", "v7", "" ...
  std::string String() const;  // "linux/amd64", "linux/arm/v7"
};

// This machine's platform (uname's machine mapped to Go's names).
Platform HostPlatform();

// The index entry for `platform` (os and architecture equal; a variant given on both sides
// must match). NotFound "no matching manifest for <os/arch[/variant]> in the manifest list
// entries" (Docker's text).
StatusOr<Descriptor> SelectPlatform(const Manifest& index, const Platform& platform);

}  // namespace capsule::agent::registry
