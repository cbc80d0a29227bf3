// Small file-system helpers shared by the executor, the shim and the task logs (the
// descriptor type is common/unique_fd.h): whole-file reads, atomic replacement of small state
// files, directory creation with an exact mode, and a tree removal that never leaves its file
// system (so a forgotten mount below a bundle is never descended into). Errors name the path.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"

namespace capsule::agent {

// Writes all of `data` to fd (retrying on EINTR and short writes).
Status WriteAll(int fd, std::string_view data, const std::string& path_for_errors);

// Reads a whole regular file (O_NOFOLLOW). Missing → NotFound.
StatusOr<std::string> ReadFile(const std::string& path);

// Replaces `path` with `data` atomically (temporary beside it, then rename). Not for secrets.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode);

// mkdir with exactly `mode` (chmod after, so the umask does not matter). An existing
// directory is accepted (and its mode set) unless exclusive; then → AlreadyExists.
Status MakeDir(const std::string& path, mode_t mode, bool exclusive = false);

// Removes `path` and everything below it without crossing into other file systems (a mount
// point found below is left in place and reported as FailedPrecondition). Missing → OK.
Status RemoveTree(const std::string& path);

// True when `path` is the root of a mount (its device differs from its parent's, or the
// kernel reports it as a mount point).
bool IsMountPoint(const std::string& path);

}  // namespace capsule::agent
