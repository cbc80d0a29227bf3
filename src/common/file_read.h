// Whole-file reads of small files (certificates, state files, /proc entries), the one copy
// shared by every layer. Not for secrets: the result is an ordinary std::string.
#pragma once

#include <string>

#include "common/status.h"

namespace capsule {

// Reads the whole file at `path`. `extra_open_flags` are added to O_RDONLY | O_CLOEXEC
// (e.g. O_NOFOLLOW). Errors name the operation and the path (common/errno_status.h):
// missing → NotFound, unreadable → PermissionDenied, …
StatusOr<std::string> ReadWholeFile(const std::string& path, int extra_open_flags = 0);

// The file's content, or "" when it cannot be read (missing, unreadable).
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace capsule
