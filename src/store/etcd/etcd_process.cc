#include "store/etcd/etcd_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "store/etcd/etcd_client.h"

namespace capsule::etcd {

namespace {

// What the child reports over the pipe when a step before exec fails.
struct ChildError {
  int step;
  int err;
};
constexpr const char* kStepNames[] = {"chdir", "dup2 /dev/null", "execv"};

std::string ReadLink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n < 0) return "";
  std::string target(buf, static_cast<size_t>(n));
  // A binary replaced on disk (package upgrade) shows as "<path> (deleted)".
  constexpr std::string_view kDeleted = " (deleted)";
  if (target.size() > kDeleted.size() &&
      target.compare(target.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    target.resize(target.size() - kDeleted.size());
  }
  return target;
}

std::string RealPath(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return path;
  std::string out(resolved);
  free(resolved);
  return out;
}

// The thread IDs listed under /proc/<pid>/task (empty when the process is gone).
std::vector<std::string> ThreadIds(pid_t pid) {
  std::vector<std::string> out;
  DIR* d = opendir(absl::StrCat("/proc/", pid, "/task").c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.emplace_back(e->d_name);
  }
  closedir(d);
  return out;
}

// Dead = no such process, or a zombie waiting for its parent to reap it. A zombie thread-group
// leader whose other threads are still exiting (etcd is multi-threaded; after SIGKILL the
// leader can finish first) is not dead yet: those threads still hold the process's files, so
// its listening sockets and ports are still taken.
bool ProcessDead(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t paren = line.rfind(')');
  const bool zombie =
      paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
  return zombie && ThreadIds(pid).size() <= 1;
}

// exe and cwd of the process, read from the first of its threads that still has them (an
// exiting leader has neither). Both empty when no thread has them any more.
std::pair<std::string, std::string> ExeAndCwd(pid_t pid) {
  const std::string proc = absl::StrCat("/proc/", pid);
  std::string exe = ReadLink(proc + "/exe"), cwd = ReadLink(proc + "/cwd");
  if (!exe.empty() && !cwd.empty()) return {exe, cwd};
  for (const std::string& tid : ThreadIds(pid)) {
    const std::string task = absl::StrCat(proc, "/task/", tid);
    exe = ReadLink(task + "/exe");
    cwd = ReadLink(task + "/cwd");
    if (!exe.empty() && !cwd.empty()) return {exe, cwd};
  }
  return {"", ""};
}

bool WaitDead(pid_t pid, std::chrono::steady_clock::time_point deadline) {
  while (!ProcessDead(pid)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace

std::vector<std::string> EtcdArgs(const MemberConfig& config) {
  const std::string client_url = absl::StrCat("unix://", kClientSocketName);
  std::string initial_cluster = config.initial_cluster.empty()
                                    ? absl::StrCat(config.name, "=", config.peer_url)
                                    : config.initial_cluster;
  std::vector<std::string> args = {
      config.etcd_binary,
      "--name",
      config.name,
      "--data-dir",
      "member-data",
      "--listen-client-urls",
      client_url,
      "--advertise-client-urls",
      client_url,
      "--listen-peer-urls",
      config.peer_url,
      "--initial-advertise-peer-urls",
      config.peer_url,
      "--initial-cluster",
      initial_cluster,
      "--initial-cluster-state",
      config.new_cluster ? "new" : "existing",
      "--initial-cluster-token",
      config.cluster_token.empty() ? "capsule" : config.cluster_token,
      "--logger",
      "zap",
      "--log-outputs",
      "stderr",
      "--log-level",
      config.log_level,
      "--snapshot-count",
      "10000",
      "--quota-backend-bytes",
      "8589934592",  // 8 GiB
      "--max-request-bytes",
      std::to_string(kMaxRequestBytes),
      "--max-txn-ops",
      std::to_string(kMaxTxnOps),
      // Capsule needs no history beyond what a watch restart spans (the read model lists
      // again after a compaction), so old revisions are compacted hourly.
      "--auto-compaction-mode",
      "periodic",
      "--auto-compaction-retention",
      "1h",
      // Raft election timeout 500 ms (etcd's default is 1 s; heartbeats stay at 100 ms): a dead
      // member's Raft leadership moves within ~0.5-1 s, and etcd's smallest lease TTL (1.5
      // election timeouts, rounded up to a second) becomes 1 s, the TTL of the manager leader's
      // lease (manager/election/elector.h). Together they bound a leader node's failover.
      "--heartbeat-interval",
      "100",
      "--election-timeout",
      "500",
      // etcd 3.4's strict reconfig check refuses every member add, learners included, unless
      // this member has been connected to every voter for the last 5 s ("unhealthy cluster"),
      // so one manager that is down blocked every manager join. Swarm's raft needs a quorum
      // only, and so does Capsule: a learner never counts for quorum, a promotion still needs
      // the learner in sync (checked by etcd either way), and voter removals are guarded by
      // our own quorum check (membership::CanRemoveMember, swarmkit's rule).
      "--strict-reconfig-check=false",
  };
  if (config.force_new_cluster) args.push_back("--force-new-cluster");
  if (!config.peer_tls.cert_file.empty()) {
    args.insert(args.end(), {"--peer-cert-file", config.peer_tls.cert_file, "--peer-key-file",
                             config.peer_tls.key_file, "--peer-trusted-ca-file",
                             config.peer_tls.trusted_ca_file, "--peer-client-cert-auth"});
    if (!config.peer_tls.allowed_hostname.empty()) {
      args.insert(args.end(), {"--peer-cert-allowed-hostname", config.peer_tls.allowed_hostname});
      // etcd would also require a peer's client certificate to name the address the
      // connection comes from. That is the advertised IP only when the kernel picks it as the
      // source (not on loopback, where every connection comes from 127.0.0.1, nor on hosts
      // with several addresses), and it adds nothing to the check above: who may speak Raft
      // is decided by the CA chain and the manager role in the certificate.
      args.push_back("--experimental-peer-skip-client-san-verification");
    }
  }
  return args;
}

StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv, const std::string& cwd,
                             bool parent_death_signal) {
  if (argv.empty()) return absl::InvalidArgumentError("spawn: empty argv");
  // Everything the child needs is prepared before fork: after fork only async-signal-safe
  // calls are allowed (other threads may hold malloc's locks).
  std::vector<char*> cargv;
  cargv.reserve(argv.size() + 1);
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) return ErrnoStatus("open", "/dev/null", errno);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    int err = errno;
    close(dev_null);
    return ErrnoStatus("pipe2", "", err);
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(dev_null);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return ErrnoStatus("fork", argv[0], err);
  }
  if (pid == 0) {
    const int report = pipe_fds[1];
    auto fail = [report](int step) {
      ChildError e{step, errno};
      ssize_t ignored = write(report, &e, sizeof(e));
      (void)ignored;
      _exit(127);
    };
    setpgid(0, 0);
    if (parent_death_signal) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      // The parent may have died between fork and prctl: then nobody would kill us.
      if (getppid() != parent) _exit(126);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);  // fails harmlessly
    if (chdir(cwd.c_str()) != 0) fail(0);
    if (dup2(dev_null, STDIN_FILENO) < 0) fail(1);
    // Close every inherited fd above 2 except the error pipe (close-on-exec).
    if (report > 3) close_range(3, static_cast<unsigned>(report) - 1, 0);
    close_range(static_cast<unsigned>(report) + 1, ~0U, 0);
    execv(cargv[0], cargv.data());
    fail(2);
  }
  close(dev_null);
  close(pipe_fds[1]);
  ChildError child_error{};
  ssize_t n;
  do {
    n = read(pipe_fds[0], &child_error, sizeof(child_error));
  } while (n < 0 && errno == EINTR);
  close(pipe_fds[0]);
  if (n == static_cast<ssize_t>(sizeof(child_error))) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const std::string what = child_error.step == 0 ? cwd : argv[0];
    return ErrnoStatus(absl::StrCat("spawn etcd: ", kStepNames[child_error.step]), what,
                       child_error.err);
  }
  return pid;  // exec succeeded (the pipe closed on exec)
}

Status WritePidfile(const std::string& path, pid_t pid) {
  const std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus("open", tmp, errno);
  const std::string text = absl::StrCat(pid, "\n");
  ssize_t n = write(fd, text.data(), text.size());
  int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) return ErrnoStatus("write", tmp, n < 0 ? err : EIO);
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", path, errno);
  return absl::OkStatus();
}

StatusOr<pid_t> KillLeftover(const std::string& pidfile, const std::string& etcd_binary,
                             const std::string& dir, std::chrono::milliseconds timeout) {
  std::ifstream in(pidfile);
  if (!in) return 0;
  long long value = 0;
  if (!(in >> value) || value <= 1 || value > INT_MAX) return 0;  // garbage: nothing to trust
  const pid_t pid = static_cast<pid_t>(value);
  if (ProcessDead(pid)) return 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto [exe, cwd] = ExeAndCwd(pid);
  if (exe.empty() && cwd.empty()) {
    // Exiting already (e.g. the parent-death SIGKILL after its capsuled crashed): it cannot be
    // identified any more, but until it is gone it may hold our peer port. Wait for it.
    WaitDead(pid, deadline);
    return 0;
  }
  if (exe != RealPath(etcd_binary)) return 0;  // PID reused by another program
  if (cwd != RealPath(dir)) return 0;          // another member's etcd
  if (kill(pid, SIGKILL) != 0 && errno != ESRCH) {
    return ErrnoStatus("kill leftover etcd", pidfile, errno);
  }
  if (!WaitDead(pid, deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("leftover etcd pid ", pid, " did not die after SIGKILL"));
  }
  return pid;
}

StatusOr<int> UnlinkStaleSockets(const std::string& dir) {
  int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dir_fd < 0) return ErrnoStatus("open", dir, errno);
  DIR* d = fdopendir(dir_fd);
  if (d == nullptr) {
    int err = errno;
    close(dir_fd);
    return ErrnoStatus("fdopendir", dir, err);
  }
  int removed = 0;
  Status status;
  while (struct dirent* entry = readdir(d)) {
    struct stat st;
    if (fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISSOCK(st.st_mode)) continue;
    if (unlinkat(dir_fd, entry->d_name, 0) != 0 && errno != ENOENT) {
      status = ErrnoStatus("unlink", absl::StrCat(dir, "/", entry->d_name), errno);
      break;
    }
    ++removed;
  }
  closedir(d);
  if (!status.ok()) return status;
  return removed;
}

bool SocketAccepts(const std::string& path) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return false;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = connect(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exited with status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  return absl::StrCat("wait status ", wait_status);
}

}  // namespace capsule::etcd
