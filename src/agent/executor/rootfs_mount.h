// A task's root file system: an overlay with the image's unpacked rootfs as the read-only
// lower layer and the task's own upper/work directories in its bundle, so tasks never change
// the image and each other's files.
#pragma once

#include <string>

#include "common/status.h"

namespace capsule::agent {

// Creates upper (owner and mode of lower), work (0700) and target (0755) and mounts the
// overlay at target. Paths with ',' or ':' cannot be overlay options → InvalidArgument.
Status MountOverlay(const std::string& lower, const std::string& upper, const std::string& work,
                    const std::string& target);

// Unmounts target (lazily when busy). Idempotent.
Status UnmountOverlay(const std::string& target);

}  // namespace capsule::agent
