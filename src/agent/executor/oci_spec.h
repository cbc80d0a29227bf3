// The OCI runtime spec (config.json) of a task, for Debian's runc 1.1 (spec 1.0.2): Docker's
// defaults — default capability set, no new privileges, PID/IPC/UTS/mount/network namespaces
// (runc brings up `lo`; nothing else) and a private cgroup namespace, the usual /proc, /dev,
// /dev/pts, /dev/shm (64 MiB), /dev/mqueue, /sys and /sys/fs/cgroup mounts, Docker's masked and
// read-only paths, Docker's default seccomp profile (seccomp_profile.h), RLIMIT_NOFILE 1048576 (see
// OciInputs::nofile) — plus one read-only bind (rbind,ro,nosuid,nodev,noexec) per secret file. Pure
// functions: no I/O.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/executor/executor.h"
#include "agent/executor/seccomp_profile.h"
#include "agent/executor/secret_mount.h"
#include "agent/executor/user_spec.h"
#include "agent/images/image_store.h"
#include "common/status.h"

namespace capsule::agent {

// A task's open-file limit, soft and hard, when the daemon may grant it (see AddConfinement in
// oci_spec.cc for why).
inline constexpr uint64_t kTaskNofile = 1048576;
// Every task's pids limit unless its Limits.Pids sets one (Docker sets none): a fork bomb in a
// task then stops at this many processes and threads instead of exhausting the node's
// pid_max (32768 by default), which would leave capsuled and etcd unable to start a thread.
// 4096 is far above what a service's process tree needs (threads count too) and eight
// tasks' worth still fits under the default pid_max.
inline constexpr int64_t kDefaultPidsLimit = 4096;
// Docker's CFS period for NanoCPUs (moby daemon: 100 ms).
inline constexpr int64_t kCpuPeriodUs = 100000;

inline constexpr char kDefaultPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct OciInputs {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  ResolvedUser user;
  std::string hostname;
  std::string rootfs;  // absolute path of the mounted rootfs
  std::vector<SecretBind> secrets;
  SeccompHost seccomp_host;  // the arch and kernel the seccomp profile is rendered for
  // RLIMIT_NOFILE (soft = hard): kTaskNofile, or less where the daemon's own hard limit is lower
  // and it may not raise it (runc would fail the start otherwise).
  uint64_t nofile = kTaskNofile;
  TaskLimits limits;
};

// The process arguments, as Docker composes them: Command replaces the image's Entrypoint
// (and then the image's Cmd is not used), Args replace the image's Cmd. Nothing to run →
// InvalidArgument "no command specified".
StatusOr<std::vector<std::string>> TaskArgs(const TaskRun& run, const ImageConfig& image);

// The image's ENV (or the default PATH when it has none), then HOSTNAME, then the task's
// env; a later "K=V" replaces an earlier one with the same K.
std::vector<std::string> TaskEnv(const TaskRun& run, const ImageConfig& image,
                                 const std::string& hostname);

// linux.resources for runc (cgroup v1 or v2: runc maps these to memory.limit_in_bytes or
// memory.max, cpu.cfs_quota_us/cfs_period_us or cpu.max, pids.max): the devices deny-all
// rule, memory.limit = MemoryBytes, cpu.quota = NanoCPUs * 100000 / 1e9 over period 100000
// (as Docker), pids.limit = Pids or kDefaultPidsLimit. Swap is left alone (runc on cgroup v1
// fails when memsw accounting is off; a node without swap needs none).
nlohmann::json RenderResources(const TaskLimits& limits);

nlohmann::json BuildOciSpec(const OciInputs& in);

}  // namespace capsule::agent
