// A reference to pull, as Docker's daemon reads it (distribution/reference): an optional
// registry domain ("host[:port]", recognised by a '.' or ':' or "localhost"), a repository
// path, and a tag and/or a digest. With no domain the registry is Docker Hub ("docker.io"),
// and a one-component path gets Docker Hub's "library/" prefix.
#pragma once

#include <string>

#include "common/status.h"

namespace capsule::agent::registry {

struct PullReference {
  std::string domain;  // "docker.io", "127.0.0.1:5000", "registry.example"
  std::string path;    // repository on the registry: "library/busybox", "team/db"
  std::string tag;     // "" when only a digest was given
  std::string digest;  // "sha256:<64 hex>" or ""
  // The name as the image store tags it: "busybox", "team/db", "127.0.0.1:5000/x".
  std::string Familiar() const;
  // What the store records: "<familiar>:<tag>" (tag) or "<familiar>@<digest>" (digest).
  std::string TagRef() const { return Familiar() + ":" + tag; }
  std::string DigestRef(const std::string& d) const { return Familiar() + "@" + d; }
  // Tag or digest as the registry's manifest URL takes it (the digest wins).
  std::string ManifestRef() const { return digest.empty() ? tag : digest; }
  // Docker's full name: "docker.io/library/busybox:latest", "host:5000/x@sha256:...".
  std::string String() const;
};

// fromImage and tag as POST /images/create gets them: `tag` may be a tag or a digest
// ("sha256:..."), and is ignored when `image` carries one already. No tag nor digest →
// "latest". InvalidArgument "invalid reference format" (or "...: repository name must be
// lowercase").
StatusOr<PullReference> ParsePullReference(const std::string& image, const std::string& tag = "");

// True for "sha256:" + 64 lower-case hex digits.
bool IsSha256Digest(const std::string& d);

}  // namespace capsule::agent::registry
