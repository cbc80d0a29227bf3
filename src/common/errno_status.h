// The one place where errno becomes a Status. The message names the operation and the
// path: "open /var/lib/capsule/swarm/kek: Permission denied".
#pragma once

#include <string_view>

#include "common/status.h"

namespace capsule {

// Maps errno values to codes (ENOENT → NotFound, EACCES/EPERM → PermissionDenied,
// EEXIST → AlreadyExists, EINVAL → InvalidArgument, else Internal).
Status ErrnoStatus(std::string_view op, std::string_view path, int err);

}  // namespace capsule
