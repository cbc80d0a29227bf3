// Resolves a task's user ("uid", "uid:gid", "name", "name:group", or "" for root) against the
// image rootfs' /etc/passwd and /etc/group, as Docker does: a name must exist; a numeric uid
// need not (its gid then defaults to 0, or to its passwd entry's); supplementary groups are
// the /etc/group entries that list the user's name. The files are opened inside the rootfs
// (symlinks resolved within it, never escaping to the host), without blocking, and only a
// regular file is read: a FIFO, socket or device there is a hostile image, never waited on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::agent {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
};

// InvalidArgument "unable to find user <u>: no matching entries in passwd file" (or group),
// or for a malformed spec; InvalidArgument "invalid image: etc/passwd is not a regular file"
// (or etc/group) when the image has something else there.
StatusOr<ResolvedUser> ResolveUser(const std::string& rootfs, const std::string& user);

}  // namespace capsule::agent
