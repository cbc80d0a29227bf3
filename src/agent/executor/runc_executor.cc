// NewRuncExecutor: the executor over runc and capsule-shim. Layout on disk: layout.h.
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/executor/executor.h"
#include "agent/executor/fs_util.h"
#include "agent/executor/layout.h"
#include "agent/executor/oci_spec.h"
#include "agent/executor/rootfs_mount.h"
#include "agent/executor/seccomp_profile.h"
#include "agent/executor/secret_mount.h"
#include "agent/executor/secret_swap.h"
#include "agent/executor/shim_status.h"
#include "agent/executor/subprocess.h"
#include "agent/executor/task_meta.h"
#include "agent/executor/user_spec.h"
#include "agent/images/image_store.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto kStartTimeout = std::chrono::seconds(60);
constexpr auto kKillTimeout = std::chrono::seconds(30);
constexpr auto kShimDrainTimeout = std::chrono::seconds(5);

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// The open-file limit tasks get: kTaskNofile, unless runc (which inherits ours) could not set
// it — beyond our own hard limit without CAP_SYS_RESOURCE, or beyond fs.nr_open at all.
uint64_t TaskNofile() {
  uint64_t ceiling = kTaskNofile;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct caps[2] = {};
  const bool may_raise =
      ::syscall(SYS_capget, &header, caps) == 0 &&
      (caps[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32))) != 0;
  struct rlimit own;
  if (!may_raise && ::getrlimit(RLIMIT_NOFILE, &own) == 0 && own.rlim_max < ceiling) {
    ceiling = own.rlim_max;
  }
  StatusOr<std::string> nr_open = ReadFile("/proc/sys/fs/nr_open");
  if (nr_open.ok()) {
    const uint64_t n = std::strtoull(nr_open->c_str(), nullptr, 10);
    if (n > 0 && n < ceiling) ceiling = n;
  }
  return ceiling;
}

// capsule-shim is installed beside capsuled (build/bin, /usr/bin).
ExecutorConfig WithDefaults(ExecutorConfig config) {
  if (config.shim_binary.empty()) {
    char self[4096];
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    std::string dir = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string("/usr/bin/x");
    config.shim_binary = dir.substr(0, dir.rfind('/')) + "/capsule-shim";
  }
  return config;
}

class RuncExecutor : public Executor {
 public:
  RuncExecutor(const ExecutorConfig& config, ImageStore& images)
      : config_(WithDefaults(config)), images_(images) {}

  Status Prepare(const TaskRun& run) override {
    RETURN_IF_ERROR(ValidateTaskId(run.task_id));
    auto lock = TaskLock(run.task_id);
    absl::MutexLock l(lock.get());
    const TaskPaths p = Paths(run.task_id);
    RETURN_IF_ERROR(EnsureRoots());
    if (Exists(p.bundle)) {
      return absl::AlreadyExistsError(absl::StrCat("task ", run.task_id, " already prepared"));
    }
    StatusOr<ImageInfo> image = images_.Inspect(run.image);
    if (absl::IsNotFound(image.status())) {
      return absl::NotFoundError(absl::StrCat("No such image: ", run.image));
    }
    RETURN_IF_ERROR(image.status());
    StatusOr<std::string> lower = images_.RootfsPath(run.image);
    if (absl::IsNotFound(lower.status())) {
      return absl::NotFoundError(absl::StrCat("No such image: ", run.image));
    }
    RETURN_IF_ERROR(lower.status());

    // Everything that can be refused is checked before anything is created.
    RETURN_IF_ERROR(SecretDestinations(run.secrets).status());
    ASSIGN_OR_RETURN(ResolvedUser user,
                     ResolveUser(*lower, run.user.empty() ? image->config.user : run.user));
    OciInputs in;
    in.user = user;
    ASSIGN_OR_RETURN(in.args, TaskArgs(run, image->config));
    in.hostname = run.hostname.empty() ? run.task_id.substr(0, 12) : run.hostname;
    in.env = TaskEnv(run, image->config, in.hostname);
    in.cwd = !run.dir.empty()                     ? run.dir
             : !image->config.working_dir.empty() ? image->config.working_dir
                                                  : "/";
    if (in.cwd[0] != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          "the working directory '", in.cwd, "' is invalid, it needs to be an absolute path"));
    }
    in.rootfs = p.rootfs;
    in.seccomp_host = ThisSeccompHost();
    in.nofile = TaskNofile();
    in.limits = run.limits;

    RETURN_IF_ERROR(MakeDir(p.bundle, 0700, /*exclusive=*/true));
    Status st = Build(run, image->id, *lower, p, in);
    if (!st.ok()) Cleanup(p).IgnoreError();
    return st;
  }

  Status Start(const std::string& task_id) override {
    RETURN_IF_ERROR(ValidateTaskId(task_id));
    auto lock = TaskLock(task_id);
    absl::MutexLock l(lock.get());
    const TaskPaths p = Paths(task_id);
    if (!Exists(p.config)) return absl::NotFoundError(absl::StrCat("no such task: ", task_id));
    if (Exists(p.status)) {
      return absl::FailedPreconditionError(absl::StrCat("task ", task_id, " already started"));
    }
    RETURN_IF_ERROR(MakeDir(config_.data_root, 0700));
    RETURN_IF_ERROR(MakeDir(LogsDir(config_.data_root), 0700));
    RETURN_IF_ERROR(MakeDir(p.log_dir, 0700));

    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "", errno);
    UniqueFd ready_read(ready[0]), ready_write(ready[1]);
    SpawnOptions spawn;
    spawn.extra_fds = {ready_write.get()};  // fd 3 in the shim
    spawn.new_session = true;
    ASSIGN_OR_RETURN(pid_t shim,
                     Spawn({config_.shim_binary, "--bundle", p.bundle, "--id", task_id, "--root",
                            RuncRoot(config_.exec_root), "--runc", config_.runc_binary, "--log",
                            p.log, "--status", p.status, "--pid-file", p.pid_file, "--runc-log",
                            p.runc_log, "--ready-fd", "3"},
                           spawn));
    ready_write.Reset();
    // The first shim process only forks the real one (which is then nobody's child here).
    ASSIGN_OR_RETURN(int shim_exit, WaitExit(shim));
    if (shim_exit != 0) {
      return absl::InternalError(absl::StrCat("capsule-shim exited with status ", shim_exit));
    }
    struct pollfd pfd = {ready_read.get(), POLLIN, 0};
    int r;
    do {
      r = ::poll(&pfd, 1, static_cast<int>(milliseconds(kStartTimeout).count()));
    } while (r < 0 && errno == EINTR);
    if (r == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("task ", task_id, ": container start timed out"));
    }
    char byte = 0;
    ssize_t n;
    do {
      n = ::read(ready_read.get(), &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1 && byte == 'R') return absl::OkStatus();
    StatusOr<ShimStatus> status = ReadShimStatus(p.status);
    if (status.ok() && status->exited && !status->error.empty()) {
      return absl::UnknownError(absl::StrCat("starting container failed: ", status->error));
    }
    return absl::UnknownError("starting container failed: capsule-shim ended early");
  }

  StatusOr<RunStatus> Inspect(const std::string& task_id) const override {
    RETURN_IF_ERROR(ValidateTaskId(task_id));
    const TaskPaths p = Paths(task_id);
    if (!Exists(p.bundle)) return absl::NotFoundError(absl::StrCat("no such task: ", task_id));
    RunStatus rs;
    rs.container_id = task_id;
    StatusOr<ShimStatus> s = ReadShimStatus(p.status);
    if (absl::IsNotFound(s.status())) return rs;  // prepared, not started
    RETURN_IF_ERROR(s.status());
    if (s->started_ns > 0) rs.started_at = FromUnixNanos(s->started_ns);
    if (s->exited) {
      rs.state = RunStatus::State::kExited;
      rs.exit_code = s->exit_code;
      rs.finished_at = FromUnixNanos(s->finished_ns);
      rs.error = s->error;
      return rs;
    }
    if (ProcessAlive(s->shim_pid, s->shim_start_ticks)) {
      if (s->pid > 0) {
        rs.state = RunStatus::State::kRunning;
        rs.pid = s->pid;
      }
      return rs;
    }
    // The shim is gone without recording an exit (killed): ask runc about the container.
    int64_t pid = RuncRunningPid(task_id);
    if (pid > 0) {
      rs.state = RunStatus::State::kRunning;
      rs.pid = pid;
      return rs;
    }
    rs.state = RunStatus::State::kExited;
    rs.exit_code = 255;
    rs.error = "capsule-shim ended without recording the exit status";
    return rs;
  }

  Status Stop(const std::string& task_id) override {
    RETURN_IF_ERROR(ValidateTaskId(task_id));
    auto lock = TaskLock(task_id);
    absl::MutexLock l(lock.get());
    const TaskPaths p = Paths(task_id);
    ASSIGN_OR_RETURN(RunStatus rs, Inspect(task_id));
    if (rs.state == RunStatus::State::kExited) return absl::OkStatus();
    if (rs.state == RunStatus::State::kCreated && !Exists(p.status)) return absl::OkStatus();
    const TaskMeta meta = ReadTaskMeta(p);
    Kill(task_id, "TERM");
    if (WaitExited(task_id, p, steady_clock::now() + meta.stop_grace_period, "")) {
      return absl::OkStatus();
    }
    Kill(task_id, "KILL");
    if (WaitExited(task_id, p, steady_clock::now() + kKillTimeout, "KILL")) {
      return absl::OkStatus();
    }
    return absl::DeadlineExceededError(
        absl::StrCat("task ", task_id, ": did not exit after SIGKILL"));
  }

  Status Remove(const std::string& task_id) override {
    RETURN_IF_ERROR(ValidateTaskId(task_id));
    auto lock = TaskLock(task_id);
    absl::MutexLock l(lock.get());
    const TaskPaths p = Paths(task_id);
    // runc keeps a container's state under <runc root>/<id> until `runc run` (or delete)
    // cleans up: then there is nothing to delete and no runc to run.
    if (Exists(absl::StrCat(RuncRoot(config_.exec_root), "/", task_id))) {
      // Kills the container if it still runs.
      RunCommand({config_.runc_binary, "--root", RuncRoot(config_.exec_root), "delete", "--force",
                  task_id})
          .IgnoreError();
      StatusOr<ShimStatus> s = ReadShimStatus(p.status);
      if (s.ok() && !s->exited) {
        // Let the shim record the exit and finish the log.
        WaitExited(task_id, p, steady_clock::now() + kShimDrainTimeout, "KILL");
      }
    }
    RETURN_IF_ERROR(Cleanup(p));
    absl::MutexLock g(&mu_);
    task_locks_.erase(task_id);
    return absl::OkStatus();
  }

  Status RemoveLogs(const std::string& task_id) override {
    RETURN_IF_ERROR(ValidateTaskId(task_id));
    return RemoveTree(LogDirFor(config_.data_root, task_id));
  }

  StatusOr<std::string> ImageOf(const std::string& task_id) const override {
    RETURN_IF_ERROR(ValidateTaskId(task_id));
    const TaskPaths p = Paths(task_id);
    if (!Exists(p.bundle)) return absl::NotFoundError(absl::StrCat("no such task: ", task_id));
    TaskMeta meta = ReadTaskMeta(p);
    if (meta.image.empty()) {
      return absl::NotFoundError(absl::StrCat("task ", task_id, ": no image recorded"));
    }
    return meta.image;
  }

  std::vector<std::string> Known() const override {
    std::set<std::string> ids;
    for (const std::string& dir : {TasksDir(config_.exec_root), SecretsDir(config_.exec_root)}) {
      DIR* d = ::opendir(dir.c_str());
      if (d == nullptr) continue;
      while (struct dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (ValidateTaskId(name).ok()) ids.insert(name);
      }
      ::closedir(d);
    }
    return {ids.begin(), ids.end()};
  }

 private:
  TaskPaths Paths(const std::string& task_id) const {
    return PathsFor(config_.exec_root, config_.data_root, task_id);
  }

  std::shared_ptr<absl::Mutex> TaskLock(const std::string& task_id) {
    absl::MutexLock l(&mu_);
    auto& m = task_locks_[task_id];
    if (m == nullptr) m = std::make_shared<absl::Mutex>();
    return m;
  }

  Status EnsureRoots() {
    RETURN_IF_ERROR(MakeDir(config_.exec_root, 0711));
    RETURN_IF_ERROR(MakeDir(TasksDir(config_.exec_root), 0700));
    RETURN_IF_ERROR(MakeDir(SecretsDir(config_.exec_root), 0700));
    RETURN_IF_ERROR(MakeDir(RuncRoot(config_.exec_root), 0700));
    return absl::OkStatus();
  }

  Status Build(const TaskRun& run, const std::string& image_id, const std::string& lower,
               const TaskPaths& p, OciInputs& in) {
    RETURN_IF_ERROR(WriteTaskMeta(p, run, image_id));
    RETURN_IF_ERROR(MountOverlay(lower, p.upper, p.work, p.rootfs));
    if (!run.secrets.empty()) {
      // A stale mount from a crash in an earlier attempt would hide the new one.
      RETURN_IF_ERROR(UnmountSecrets(p.secrets));
      ASSIGN_OR_RETURN(in.secrets, MountSecrets(p.secrets, run.secrets, run.refresh_layout));
    }
    const std::string spec =
        BuildOciSpec(in).dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
    return WriteFileAtomic(p.config, spec, 0600);
  }

  StatusOr<bool> RefreshSecret(const std::string& task_id, const SecretFile& file,
                               int signal) override {
    RETURN_IF_ERROR(ValidateTaskId(task_id));
    auto lock = TaskLock(task_id);
    absl::MutexLock l(lock.get());
    const TaskPaths p = Paths(task_id);
    if (!Exists(p.bundle)) return absl::NotFoundError("no such task: " + task_id);
    return SwapSecretFile(
        p.secrets, file,
        [&] {
          if (signal == 0) return;
          auto r = RunCommand({config_.runc_binary, "--root", RuncRoot(config_.exec_root), "kill",
                               task_id, std::to_string(signal)});
          if (!r.ok() || r->exit_code != 0) {
            spdlog::warn("task {}: signal {} after a secret refresh not delivered: {}", task_id,
                         signal, r.ok() ? r->err : r.status().ToString());
          }
        },
        config_.refresh_grace);
  }

  // Unmounts the secrets and the rootfs and removes the bundle; each step runs even when an
  // earlier one failed, the first error is returned.
  Status Cleanup(const TaskPaths& p) {
    Status first;
    auto note = [&first](Status st) {
      if (first.ok() && !st.ok()) first = st;
    };
    note(UnmountSecrets(p.secrets));
    note(UnmountOverlay(p.rootfs));
    if (!IsMountPoint(p.rootfs)) note(RemoveTree(p.bundle));
    return first;
  }

  void Kill(const std::string& task_id, const std::string& signal) {
    RunCommand(
        {config_.runc_binary, "--root", RuncRoot(config_.exec_root), "kill", task_id, signal})
        .IgnoreError();
  }

  // The container's PID when runc reports it running (or paused/created), else 0.
  int64_t RuncRunningPid(const std::string& task_id) const {
    auto r =
        RunCommand({config_.runc_binary, "--root", RuncRoot(config_.exec_root), "state", task_id});
    if (!r.ok() || r->exit_code != 0) return 0;
    nlohmann::json j = nlohmann::json::parse(r->out, nullptr, false);
    if (!j.is_object() || !j.contains("status") || !j["status"].is_string()) return 0;
    if (j["status"] == "stopped") return 0;
    return j.contains("pid") && j["pid"].is_number_integer() ? j["pid"].get<int64_t>() : 0;
  }

  // Waits until the status file records the exit (or the shim is gone and runc no longer has
  // the container). With resend_signal, the signal is sent again every half second (a task
  // still starting may not have taken the first one).
  bool WaitExited(const std::string& task_id, const TaskPaths& p, steady_clock::time_point deadline,
                  const std::string& resend_signal) {
    UniqueFd in(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (in.valid()) ::inotify_add_watch(in.get(), p.bundle.c_str(), IN_MOVED_TO);
    auto last_signal = steady_clock::now();
    for (;;) {
      StatusOr<RunStatus> rs = Inspect(task_id);
      if (!rs.ok() || rs->state == RunStatus::State::kExited) return true;
      const auto now = steady_clock::now();
      if (now >= deadline) return false;
      if (!resend_signal.empty() && now - last_signal >= milliseconds(500)) {
        Kill(task_id, resend_signal);
        last_signal = now;
      }
      auto left = std::chrono::duration_cast<milliseconds>(deadline - now);
      int timeout = static_cast<int>(std::min<int64_t>(left.count(), 100));
      if (in.valid()) {
        struct pollfd pfd = {in.get(), POLLIN, 0};
        if (::poll(&pfd, 1, timeout) > 0) {
          char buf[4096];
          while (::read(in.get(), buf, sizeof(buf)) > 0) {
          }
        }
      } else {
        std::this_thread::sleep_for(milliseconds(timeout));
      }
    }
  }

  const ExecutorConfig config_;
  ImageStore& images_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<absl::Mutex>> task_locks_;
};

}  // namespace

std::unique_ptr<Executor> NewRuncExecutor(const ExecutorConfig& config, ImageStore& images) {
  return std::make_unique<RuncExecutor>(config, images);
}

}  // namespace capsule::agent
