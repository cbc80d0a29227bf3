// Docker's default seccomp profile, written down as our own data, and its rendering into the
// OCI spec's `linux.seccomp` section for one task on one host.
//
// Semantics are Docker's (moby profiles/seccomp/default.json, as of Docker 25 — the list of
// Docker 24 without io_uring_*): an allow-list. Anything not listed fails with EPERM
// (defaultAction SCMP_ACT_ERRNO, defaultErrnoRet 1). Some rules apply only when the task holds a
// capability (CAP_SYS_ADMIN → mount, unshare, setns, bpf, …), only on some architectures, or
// only from a kernel version on (ptrace and process_vm_* from 4.8). Without CAP_SYS_ADMIN,
// `clone` is allowed only when its flags ask for no new namespace (SCMP_CMP_MASKED_EQ on
// CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP), and `clone3` — whose flags sit in a
// struct seccomp cannot read — fails with ENOSYS so libc falls back to `clone`. Never allowed
// with Docker's default capabilities: unshare, setns, mount, umount2, keyctl, add_key, bpf,
// perf_event_open, userfaultfd, io_uring_*, reboot, init_module, …
//
// Rendering is Docker's too: a rule is kept when every one of its `includes` holds (all its caps
// held, the host's arch listed, the kernel at least min_kernel) and none of its `excludes` does
// (any cap held, the host's arch listed, the kernel at least min_kernel).
// Pure functions but ThisSeccompHost (uname(2)); thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace capsule::agent {

struct KernelVersion {
  int major = 0;
  int minor = 0;
};

// The host a profile is rendered for. `arch` uses Go's names as Docker's filters do ("amd64",
// "arm64"); an arch the profile has no entry for renders with no `architectures` (native only).
struct SeccompHost {
  std::string arch;
  KernelVersion kernel;  // {0,0}: unknown — min_kernel rules are then left out (the safe side)
};

// The arch this binary was built for and the running kernel (uname(2); unparsable → {0,0}).
SeccompHost ThisSeccompHost();

// "6.1.0-18-amd64" → {6,1}; nullopt when it does not start with "<major>.<minor>".
std::optional<KernelVersion> ParseKernelVersion(const std::string& release);

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ, SCMP_CMP_NE, SCMP_CMP_MASKED_EQ, …
};

struct SeccompFilter {
  std::vector<std::string> caps;
  std::vector<std::string> arches;
  std::optional<KernelVersion> min_kernel;
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;            // SCMP_ACT_ALLOW or SCMP_ACT_ERRNO
  std::optional<int> errno_ret;  // with SCMP_ACT_ERRNO
  std::vector<SeccompArg> args;  // all must match
  SeccompFilter includes;
  SeccompFilter excludes;
};

// The rules of Docker's default profile, in Docker's order.
const std::vector<SeccompRule>& DockerDefaultSeccompRules();

// The OCI `linux.seccomp` object for a task holding `caps` (e.g. "CAP_SYS_ADMIN") on `host`:
// defaultAction, defaultErrnoRet, architectures, and the syscalls whose filters hold.
nlohmann::json RenderSeccompProfile(const std::vector<std::string>& caps, const SeccompHost& host);

}  // namespace capsule::agent
