// File-system helpers for building image root file systems safely: file descriptors
// instead of paths, every lookup confined to the rootfs (openat2 RESOLVE_IN_ROOT), so a
// symlink inside an archive can never lead a write outside the directory being built.
#pragma once

#include <unistd.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace capsule::agent {

// An archive path made relative to the rootfs: "/a//b/./c" → "a/b/c", "" for the root
// itself. ".." is applied lexically; InvalidArgument when it would climb above the root
// ("../x", "a/../../x"), as Docker refuses such entries.
StatusOr<std::string> CleanArchivePath(const std::string& path);

// openat2 of `rel` below root_fd as if root_fd were "/" (RESOLVE_IN_ROOT, no magic links;
// O_CLOEXEC added), retried while the kernel answers EAGAIN. The descriptor, or -1 with errno.
int OpenInRoot(int root_fd, const std::string& rel, uint64_t flags);

// Splits a clean relative path into (parent, base); base is "" for the root.
std::pair<std::string, std::string> SplitParent(const std::string& clean);

// Opens directory `rel` (a clean relative path) under root_fd with symlinks resolved as if
// root_fd were "/" (RESOLVE_IN_ROOT). With create, missing directories are made (exactly
// 0755 whatever the umask, owned by the caller). Returns an O_PATH descriptor usable with the *at()
// calls.
StatusOr<UniqueFd> OpenDirInRoot(int root_fd, const std::string& rel, bool create);

// Removes `name` in directory dir_fd (a file, a link or a whole tree, never following
// symlinks). Missing is fine.
Status RemoveAllAt(int dir_fd, const std::string& name);

// Opens a regular file for reading, confined to root_fd (symlinks resolved in root). The
// open never blocks; InvalidArgument "<rel> is not a regular file" for a FIFO, socket, device
// or directory (nothing is read from it).
StatusOr<UniqueFd> OpenFileInRoot(int root_fd, const std::string& rel);

// Bytes used by regular files and symlinks under dir (not following symlinks).
int64_t TreeSize(const std::string& dir);

}  // namespace capsule::agent
