// The executor: runs a node's tasks as runc containers. Per task it builds an OCI bundle
// (rootfs = an overlay on the image's unpacked rootfs), mounts the task's secret tmpfs
// (nodev,nosuid,noexec, 0700; one file per secret, chowned/chmodded, remounted read-only;
// each file bind-mounted read-only at its target inside the task) and starts a small shim
// process that runs `runc run`, writes the task's stdout/stderr to its log and records the
// exit status — so capsuled can restart and re-adopt running tasks. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::agent {

class ImageStore;

// A secret file for one task. `data` is only read during Prepare (copied onto the tmpfs).
struct SecretFile {
  std::string secret_id;
  std::string target;  // relative → /run/secrets/<target>; absolute as given
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0444;
  const SecretBytes* data = nullptr;
};

// The task's cgroup limits (the service's Resources.Limits); 0 = not set. See oci_spec.h for
// how they are rendered and the default pids limit.
struct TaskLimits {
  int64_t nano_cpus = 0;
  int64_t memory_bytes = 0;
  int64_t pids = 0;
};

struct TaskRun {
  std::string task_id;
  std::string service_id;
  std::string service_name;
  std::string node_id;
  uint64_t slot = 0;
  std::string image;                 // as in the service spec ("name:tag")
  std::vector<std::string> command;  // overrides the image's Entrypoint when non-empty
  std::vector<std::string> args;     // overrides the image's Cmd when non-empty
  std::vector<std::string> env;      // "K=V", applied over the image's ENV
  std::string dir;
  std::string user;  // "uid", "uid:gid" (numeric; names resolved from the rootfs' /etc/passwd)
  std::string hostname;
  std::map<std::string, std::string> labels;
  std::vector<SecretFile> secrets;
  // Live refresh (objects/secret_refresh.h): the task has refresh policies, so its secrets
  // inside /run/secrets are laid out as one bound directory (secret_mount.h).
  bool refresh_layout = false;
  std::chrono::nanoseconds stop_grace_period{std::chrono::seconds(10)};
  TaskLimits limits;
  // The service's registry credentials (the X-Registry-Auth value of `--with-registry-auth`)
  // for pulling a missing image; null = none. Only read during Prepare.
  const SecretBytes* registry_auth = nullptr;
};

struct RunStatus {
  enum class State { kCreated, kRunning, kExited } state = State::kCreated;
  int64_t pid = 0;        // the task's init process (host PID) while running
  int64_t exit_code = 0;  // once exited (128+signal when killed by a signal)
  TimePoint started_at{};
  TimePoint finished_at{};
  std::string container_id;  // the runc container ID
  // Once exited: why the container never ran (runc's message, e.g. an executable not found),
  // or why its exit status is unknown; empty after a normal start.
  std::string error{};
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Builds the bundle and mounts the secrets. NotFound "No such image: <image>" when the node
  // lacks the image; InvalidArgument for a bad target or user. On error nothing is left.
  virtual Status Prepare(const TaskRun& run) = 0;
  // Starts the shim (which runs the container) and returns once the container's process runs.
  // Prepared, not yet started tasks only (else FailedPrecondition; unknown → NotFound). When
  // runc cannot start it: Unknown "starting container failed: <runc's message>" (Inspect then
  // reports it exited, with that error).
  virtual Status Start(const std::string& task_id) = 0;
  // NotFound for a task this node does not have. kCreated while prepared (or starting).
  virtual StatusOr<RunStatus> Inspect(const std::string& task_id) const = 0;
  // SIGTERM, SIGKILL after the task's stop_grace_period; returns once exited. A task that is
  // not running (prepared only, or exited) → OK.
  virtual Status Stop(const std::string& task_id) = 0;
  // Deletes the container, unmounts the task's secret tmpfs and rootfs, removes the bundle.
  // Logs are kept until RemoveLogs (the API serves logs of finished tasks). Idempotent.
  virtual Status Remove(const std::string& task_id) = 0;
  virtual Status RemoveLogs(const std::string& task_id) = 0;
  // Tasks this node has on disk (prepared, running or exited), e.g. after a capsuled restart.
  virtual std::vector<std::string> Known() const = 0;
  // Live refresh: replaces one secret file of a prepared or running task prepared with
  // refresh_layout, atomically (secret_swap.h), then sends `signal` (0 = none) to the task's
  // main process; the old data is wiped after a short grace. → false when the file already
  // held exactly this (nothing done, no signal). NotFound for an unknown task;
  // FailedPrecondition without the refresh layout; InvalidArgument for a target outside
  // /run/secrets. (The default, for test doubles: Unimplemented.)
  virtual StatusOr<bool> RefreshSecret(const std::string& task_id, const SecretFile& file,
                                       int signal) {
    (void)file;
    (void)signal;
    return absl::UnimplementedError("secret refresh on task " + task_id);
  }
  // The image a prepared task's rootfs is built on: its ID ("sha256:<hex>"), or the reference
  // its spec named for a task prepared before IDs were recorded. NotFound for a task this node
  // does not have. (The default, for test doubles: NotFound.)
  virtual StatusOr<std::string> ImageOf(const std::string& task_id) const {
    return absl::NotFoundError("no such task: " + task_id);
  }
};

struct ExecutorConfig {
  std::string exec_root;  // bundles, secret tmpfs mounts, runc state (--root <exec-root>/runc)
  std::string data_root;  // task logs
  std::string runc_binary = "/usr/bin/runc";
  std::string shim_binary;  // the capsule-shim executable; empty = beside the running binary
  // How long a refreshed secret's old file stays readable through descriptors opened before
  // the swap, before it is wiped (secret_swap.h).
  std::chrono::milliseconds refresh_grace{500};
};

std::unique_ptr<Executor> NewRuncExecutor(const ExecutorConfig& config, ImageStore& images);

}  // namespace capsule::agent
