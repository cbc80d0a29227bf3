// Image references as the docker CLI writes them: "name[:tag]", where the tag is what
// follows the last ':' after the last '/' ("127.0.0.1:5999/x:1" is repo
// "127.0.0.1:5999/x", tag "1"). Docker Hub's implicit prefixes are dropped, so
// "docker.io/library/busybox" and "busybox" name the same image.
#pragma once

#include <string>

#include "common/status.h"

namespace capsule::agent {

struct Reference {
  std::string repo;  // familiar form: "busybox", "capsule/busybox", "host:5000/x"
  std::string tag;   // "latest" when none was given
  std::string String() const { return repo + ":" + tag; }
};

// InvalidArgument "invalid reference format" (or "...: repository name must be lowercase").
StatusOr<Reference> ParseReference(const std::string& ref);

}  // namespace capsule::agent
