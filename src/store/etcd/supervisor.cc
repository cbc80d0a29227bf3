#include "store/etcd/supervisor.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/log.h"
#include "store/etcd/etcd_process.h"

namespace capsule::etcd {

namespace {

constexpr std::chrono::milliseconds kInitialBackoff{200};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// A child that ran this long before dying counts as healthy: the backoff starts over.
constexpr std::chrono::seconds kHealthyRun{10};
constexpr std::chrono::seconds kStopGrace{10};
// How often Start looks at the client socket: real time, whatever the clock (it polls a real
// process; the start timeout itself is on the clock).
constexpr std::chrono::milliseconds kSocketPoll{20};
constexpr size_t kMaxUnixPath = 107;  // sun_path is 108 bytes including the NUL

std::string AbsoluteDir(const std::string& dir) {
  if (dir.empty()) return "";
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(dir, ec);
  if (ec) p = dir;
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// mkdir -p the parents, mkdir dir 0700, and force 0700 if it already existed.
Status PrepareDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
  if (ec) return ErrnoStatus("mkdir", dir, ec.value());
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", dir, errno);
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return ErrnoStatus("lstat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return ErrnoStatus("etcd dir is not a directory", dir, ENOTDIR);
  if (chmod(dir.c_str(), 0700) != 0) return ErrnoStatus("chmod 0700", dir, errno);
  return absl::OkStatus();
}

}  // namespace

struct Supervisor::Impl {
  Impl(MemberConfig c, const Clock& clk)
      : config(std::move(c)),
        clock(clk),
        dir(AbsoluteDir(config.dir)),
        socket_path(absl::StrCat(dir, "/", kClientSocketName)),
        pidfile(absl::StrCat(dir, "/", kPidfileName)) {
    config.dir = dir;
  }

  Status Validate() const;
  Status StartLocked(std::chrono::milliseconds timeout);  // lifecycle_mu held
  void StopLocked();                                      // lifecycle_mu held
  void Monitor();
  // Unlinks stale sockets and forks the child from the monitor thread.
  StatusOr<pid_t> SpawnOnce();

  MemberConfig config;
  const Clock& clock;
  const std::string dir;
  const std::string socket_path;
  const std::string pidfile;

  // Serializes Start() and Stop() against each other; never held by the monitor thread.
  std::mutex lifecycle_mu;
  mutable std::mutex mu;  // guards the fields below
  std::condition_variable cv;
  pid_t pid = -1;        // running child, -1 if none
  bool spawned = false;  // the current monitor has spawned at least once
  bool ready = false;    // Start() saw the socket accept connections
  bool stopping = false;
  bool force_pending = false;           // the next spawn passes --force-new-cluster
  bool removed = false;                 // the child exited 0 by itself: not restarted
  std::optional<Status> startup_error;  // the first child could not start or died early
  int restarts = 0;
  std::thread monitor;
};

Status Supervisor::Impl::Validate() const {
  if (config.dir.empty()) return absl::InvalidArgumentError("etcd supervisor: empty dir");
  if (config.name.empty()) return absl::InvalidArgumentError("etcd supervisor: empty member name");
  if (config.peer_url.empty()) return absl::InvalidArgumentError("etcd supervisor: empty peer URL");
  if (config.peer_url.find("0.0.0.0") != std::string::npos ||
      config.peer_url.find("[::]") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("etcd supervisor: peer URL must name one address: ", config.peer_url));
  }
  if (socket_path.size() > kMaxUnixPath) {
    return absl::InvalidArgumentError(absl::StrCat("etcd supervisor: client socket path ",
                                                   socket_path, " is longer than ", kMaxUnixPath,
                                                   " bytes; use a shorter data root"));
  }
  if (access(config.etcd_binary.c_str(), X_OK) != 0) {
    return ErrnoStatus("etcd supervisor: etcd binary", config.etcd_binary, errno);
  }
  return absl::OkStatus();
}

StatusOr<pid_t> Supervisor::Impl::SpawnOnce() {
  ASSIGN_OR_RETURN(int removed, UnlinkStaleSockets(dir));
  if (removed > 0) spdlog::info("etcd supervisor: removed {} stale socket(s) in {}", removed, dir);
  MemberConfig spawn_config = config;
  {
    std::lock_guard<std::mutex> lock(mu);
    spawn_config.force_new_cluster = force_pending;
    force_pending = false;
  }
  if (spawn_config.force_new_cluster) {
    spdlog::warn("etcd supervisor: starting member {} with --force-new-cluster", config.name);
  }
  ASSIGN_OR_RETURN(pid_t child,
                   SpawnProcess(EtcdArgs(spawn_config), dir, /*parent_death_signal=*/true));
  Status written = WritePidfile(pidfile, child);
  if (!written.ok()) spdlog::warn("etcd supervisor: {}", written.ToString());
  return child;
}

// Runs on its own thread for as long as the member is supervised. It forks every child
// itself: PR_SET_PDEATHSIG fires when the forking *thread* exits, so the forking thread must
// outlive the child.
void Supervisor::Impl::Monitor() {
  std::chrono::milliseconds backoff = kInitialBackoff;
  while (true) {
    StatusOr<pid_t> child = SpawnOnce();
    const SteadyTime started_at = clock.SteadyNow();
    {
      std::unique_lock<std::mutex> lock(mu);
      if (!child.ok()) {
        if (!ready) {
          startup_error = child.status();
          cv.notify_all();
          return;
        }
        spdlog::error("etcd supervisor: cannot restart etcd: {}", child.status().ToString());
      } else {
        pid = *child;
        spawned = true;
        if (stopping) kill(pid, SIGKILL);  // Stop() ran while we were forking
        cv.notify_all();
      }
    }
    if (child.ok()) {
      // Wait without reaping, so the PID cannot be reused while Stop() may still signal it.
      siginfo_t info;
      while (waitid(P_PID, *child, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
      }
      std::unique_lock<std::mutex> lock(mu);
      int wait_status = 0;
      while (waitpid(*child, &wait_status, 0) < 0 && errno == EINTR) {
      }
      pid = -1;
      cv.notify_all();
      if (stopping) return;
      // etcd exits 0 unasked only when its server stopped itself: its member was removed.
      removed = WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
      if (!ready) {
        startup_error = absl::UnavailableError(absl::StrCat(
            "etcd ", DescribeWaitStatus(wait_status), " before serving",
            removed ? ": its member was removed from the cluster" : "", " (see its log above)"));
        return;
      }
      if (removed) {
        spdlog::error(
            "etcd supervisor: etcd (pid {}) stopped by itself (exit status 0): its member {} was "
            "removed from the cluster; not restarting it",
            *child, config.name);
        return;
      }
      spdlog::error("etcd supervisor: etcd (pid {}) {}; restarting in {} ms", *child,
                    DescribeWaitStatus(wait_status), backoff.count());
      if (clock.SteadyNow() - started_at > kHealthyRun) backoff = kInitialBackoff;
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      if (clock.WaitFor(cv, lock, backoff, [this] { return stopping; })) return;
      ++restarts;
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

Supervisor::Supervisor(MemberConfig config, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(config), clock)) {}

Supervisor::~Supervisor() { Stop(); }

Status Supervisor::Start(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle_mu);
  return impl_->StartLocked(timeout);
}

void Supervisor::Stop() {
  std::lock_guard<std::mutex> lifecycle(impl_->lifecycle_mu);
  impl_->StopLocked();
}

Status Supervisor::Impl::StartLocked(std::chrono::milliseconds timeout) {
  Impl& s = *this;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.monitor.joinable()) return absl::OkStatus();  // already running
  }
  RETURN_IF_ERROR(s.Validate());
  RETURN_IF_ERROR(PrepareDir(s.dir));
  ASSIGN_OR_RETURN(pid_t leftover, KillLeftover(s.pidfile, s.config.etcd_binary, s.dir,
                                                std::chrono::milliseconds(5000)));
  if (leftover > 0) spdlog::warn("etcd supervisor: killed leftover etcd pid {}", leftover);

  {
    std::lock_guard<std::mutex> lock(s.mu);
    s.stopping = false;
    s.force_pending = s.config.force_new_cluster;
    s.removed = false;
    s.ready = false;
    s.spawned = false;
    s.startup_error.reset();
    s.monitor = std::thread(&Impl::Monitor, &s);
  }
  const SteadyTime deadline = s.clock.SteadyNow() + timeout;
  Status result;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(s.mu);
      if (s.startup_error.has_value()) {
        result = *s.startup_error;
        break;
      }
      if (s.spawned && s.pid > 0 && SocketAccepts(s.socket_path)) {
        s.ready = true;
        break;
      }
      if (s.clock.SteadyNow() >= deadline) {
        result = absl::DeadlineExceededError(
            absl::StrCat("etcd did not accept connections on ", s.socket_path, " within ",
                         static_cast<long long>(timeout.count()), " ms"));
        break;
      }
      s.cv.wait_for(lock, kSocketPoll);
    }
  }
  if (!result.ok()) StopLocked();
  return result;
}

void Supervisor::Impl::StopLocked() {
  Impl& s = *this;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    if (!s.monitor.joinable()) return;
    s.stopping = true;
    if (s.pid > 0) kill(s.pid, SIGTERM);
    s.cv.notify_all();
    if (!s.clock.WaitFor(s.cv, lock, kStopGrace, [&s] { return s.pid < 0; })) {
      spdlog::warn("etcd supervisor: etcd (pid {}) ignored SIGTERM for {} s; killing it", s.pid,
                   kStopGrace.count());
      kill(s.pid, SIGKILL);
    }
  }
  s.monitor.join();
  std::lock_guard<std::mutex> lock(s.mu);
  s.monitor = std::thread();
  unlink(s.pidfile.c_str());
}

std::string Supervisor::ClientEndpoint() const { return absl::StrCat("unix:", impl_->socket_path); }

int Supervisor::pid() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->pid;
}

bool Supervisor::removed() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->removed;
}

int Supervisor::restarts() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->restarts;
}

}  // namespace capsule::etcd
