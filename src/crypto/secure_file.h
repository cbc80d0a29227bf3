// Files that hold key material: written atomically with a fixed mode, read without
// following symlinks and only when no group/other permission bits are set.
// Used by the KEK file (keyring.h) and by node keys (ca/node_key.h). Errors name the path.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::crypto {

// Writes `data` to a new temporary file beside `path` (O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC,
// created with `mode`), fsyncs it, renames it onto `path` and fsyncs the directory, so a
// reader sees either the old file or the complete new one. With replace == false the rename
// is RENAME_NOREPLACE and an existing `path` → AlreadyExists (the temporary is removed).
// The parent directory must exist.
Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> data, mode_t mode,
                       bool replace);

// Reads a file holding secret material into SecretBytes. O_NOFOLLOW (a symlink → error);
// not a regular file, any group/other mode bit set, or a size above max_size →
// FailedPrecondition naming the path. A missing file → NotFound.
StatusOr<SecretBytes> ReadPrivateFile(const std::string& path, size_t max_size);

}  // namespace capsule::crypto
