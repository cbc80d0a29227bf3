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
StatusOr<std::vector<SecretBind>> MountSecrets(const std::string& dir,
                                               const std::vector<SecretFile>& secrets);

// Unmounts the tmpfs (lazily when busy) and removes its mount point. Idempotent: a missing
// or unmounted `dir` is fine.
Status UnmountSecrets(const std::string& dir);

}  // namespace capsule::agent
