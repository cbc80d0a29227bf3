// Live refresh on the node (issue 14 part 3; docs/secret-versions.md): replaces one secret
// file of a running task whose tmpfs has the refresh layout (secret_mount.h MountSecrets with
// refresh_layout), so that a reader inside the task never sees a partial, mixed or empty
// file:
//   1. the tmpfs (read-only, root-only on the host) is remounted read-write — the task's own
//      bind of it stays read-only (a per-mount flag);
//   2. the new data is written, chowned and chmodded to a temporary file in the tmpfs root
//      (outside the directory the task sees);
//   3. an fd to the old file is kept, and the temporary file is renamed over it: one atomic
//      step; an open() in the task gets either the old inode or the new one, both complete;
//   4. `swapped` runs (the executor signals the task there);
//   5. after `grace`, the old inode is overwritten with zeros and truncated (tmpfs pages are
//      freed, not cleared, so the zeros are what wipes them), its fd closed, and the tmpfs
//      remounted read-only. The rule for a task: re-open the file to read a new version; a
//      descriptor opened before a swap reads the old data for `grace`, zeros or nothing after.
// Nothing is touched (and `swapped` not called) when the file already holds exactly this
// data, owner and mode: → false. Secret data goes nowhere but the tmpfs and SecretBytes.
// Callers serialise swaps of one task (the executor's per-task lock).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "agent/executor/executor.h"
#include "common/status.h"

namespace capsule::agent {

// `dir` is the task's secret tmpfs; `file.target` names the file (inside /run/secrets).
// → true when swapped. InvalidArgument for a target outside /run/secrets; FailedPrecondition
// when the tmpfs has no refresh layout or no such file; errno errors otherwise (the tmpfs is
// read-only again on every path).
StatusOr<bool> SwapSecretFile(const std::string& dir, const SecretFile& file,
                              const std::function<void()>& swapped,
                              std::chrono::milliseconds grace);

}  // namespace capsule::agent
