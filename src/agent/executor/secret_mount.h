// A task's secrets on the host: one tmpfs per task (nodev,nosuid,noexec, mode 0700, sized to
// its secrets), one file per secret reference chowned/chmodded from the reference, then the
// whole tmpfs remounted read-only with the same flags. Each file is bind-mounted read-only at
// its target inside the task by the OCI spec (oci_spec.h). Secret data goes nowhere else: no
// temporary files, no copies on disk; the OCI config holds only paths.
#pragma once

#include <string>
#include <vector>

#include "agent/executor/executor.h"
#include "common/status.h"

namespace capsule::agent {

struct SecretBind {
  std::string source;       // the file on the task's tmpfs
  std::string destination;  // absolute path inside the task
};

// The absolute destination of each reference, in order: relative targets under
// /run/secrets/, absolute ones as given. InvalidArgument for an empty target, an empty,
// "." or ".." path component, a NUL byte, or two references with the same destination; and
// for a secret ID that is not [A-Za-z0-9]+ (it names the file on the tmpfs).
StatusOr<std::vector<std::string>> SecretDestinations(const std::vector<SecretFile>& secrets);

// Mounts the tmpfs at `dir` (created 0700; must not be mounted already), writes the files and
// remounts read-only. Returns one bind per reference, in order. On error nothing is left.
//
// With `refresh_layout` (a task with live-refresh policies, objects/secret_refresh.h), every
// item whose destination is inside /run/secrets is written instead at its relative path under
// the directory kRefreshDir of the tmpfs (0755, subdirectories 0755), and that directory is
// bound read-only at /run/secrets as one bind (returned first): a rename in it
// (secret_swap.h) is then seen inside the task, which a per-file bind (it pins the inode)
// would not show. Items elsewhere keep their per-file binds. The tmpfs is sized so that each
// file of the directory can be replaced by a maximal secret while its old version still
// exists.
StatusOr<std::vector<SecretBind>> MountSecrets(const std::string& dir,
                                               const std::vector<SecretFile>& secrets,
                                               bool refresh_layout = false);

// The directory of the refresh layout inside a task's tmpfs, and where it is bound.
inline constexpr char kRefreshDir[] = "run-secrets";
inline constexpr char kRunSecrets[] = "/run/secrets";

// Unmounts the tmpfs (lazily when busy) and removes its mount point. Idempotent: a missing
// or unmounted `dir` is fine.
Status UnmountSecrets(const std::string& dir);

}  // namespace capsule::agent
