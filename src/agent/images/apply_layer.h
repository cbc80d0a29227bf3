// Applies one tar layer onto a root file system directory: entries are created confined to
// the root (see rootfs_fs.h), ownership, modes and times are preserved, and Docker's
// whiteouts are honoured: ".wh.<name>" removes <name> from lower layers, ".wh..wh..opq"
// empties its directory of everything the lower layers put there. Device nodes are skipped.
#pragma once

#include "agent/images/tar_reader.h"
#include "common/status.h"

namespace capsule::agent {

// root_fd: an open directory. An error leaves a partly applied tree: callers build into a
// scratch directory and discard it on error.
Status ApplyLayer(TarReader& tar, int root_fd);

}  // namespace capsule::agent
