#include "agent/executor/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "agent/executor/fs_util.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

constexpr int kMaxFds = 16;

struct ChildError {
  int step;
  int err;
};

constexpr const char* kSteps[] = {"prepare fds for", "setsid for", "exec"};

}  // namespace

StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("spawn: empty argv");
  if (options.extra_fds.size() + 3 > kMaxFds) return absl::InvalidArgumentError("too many fds");
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const std::string& e : options.env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  UniqueFd dev_null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!dev_null.valid()) return ErrnoStatus("open", "/dev/null", errno);
  int sources[kMaxFds];
  const int count = static_cast<int>(3 + options.extra_fds.size());
  sources[0] = options.stdin_fd >= 0 ? options.stdin_fd : dev_null.get();
  sources[1] = options.stdout_fd >= 0 ? options.stdout_fd : dev_null.get();
  sources[2] = options.stderr_fd >= 0 ? options.stderr_fd : dev_null.get();
  for (size_t i = 0; i < options.extra_fds.size(); ++i) sources[3 + i] = options.extra_fds[i];

  int report_pipe[2];
  if (::pipe2(report_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "", errno);
  UniqueFd report_read(report_pipe[0]);
  UniqueFd report_write(report_pipe[1]);

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoStatus("fork", argv[0], errno);
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    int report = report_write.get();
    auto fail = [&report](int step) {
      ChildError e{step, errno};
      ssize_t ignored = ::write(report, &e, sizeof(e));
      (void)ignored;
      _exit(127);
    };
    // Move the report pipe and every source above the target range first, so no dup2 below
    // overwrites a source that a later target still needs.
    report = ::fcntl(report, F_DUPFD_CLOEXEC, kMaxFds + 1);
    if (report < 0) _exit(127);
    int moved[kMaxFds];
    for (int i = 0; i < count; ++i) {
      moved[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, kMaxFds + 2);
      if (moved[i] < 0) fail(0);
    }
    for (int i = 0; i < count; ++i) {
      if (::dup2(moved[i], i) < 0) fail(0);
    }
    // Everything else goes, except the report pipe (close-on-exec: it closes at exec).
    ::close_range(static_cast<unsigned>(count), static_cast<unsigned>(report) - 1, 0);
    ::close_range(static_cast<unsigned>(report) + 1, ~0U, 0);
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);  // fails harmlessly
    if (options.new_session && ::setsid() < 0) fail(1);
    ::execve(cargv[0], cargv.data(), cenv.data());
    fail(2);
  }
  report_write.Reset();
  ChildError child_error{};
  ssize_t n;
  do {
    n = ::read(report_read.get(), &child_error, sizeof(child_error));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(child_error))) {
    WaitExit(pid).IgnoreError();
    return ErrnoStatus(kSteps[child_error.step], argv[0], child_error.err);
  }
  return pid;
}

StatusOr<int> WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoStatus("waitpid", std::to_string(pid), errno);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "", errno);
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "", errno);
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);
  SpawnOptions opts;
  opts.stdout_fd = out_write.get();
  opts.stderr_fd = err_write.get();
  ASSIGN_OR_RETURN(pid_t pid, Spawn(argv, opts));
  out_write.Reset();
  err_write.Reset();

  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true, timed_out = false;
  while (out_open || err_open) {
    struct pollfd fds[2] = {{out_open ? out_read.get() : -1, POLLIN, 0},
                            {err_open ? err_read.get() : -1, POLLIN, 0}};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int r = ::poll(fds, 2, static_cast<int>(left.count()));
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  ASSIGN_OR_RETURN(result.exit_code, WaitExit(pid));
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(argv[0], " ", argv.size() > 1 ? argv[1] : "", ": timed out"));
  }
  return result;
}

}  // namespace capsule::agent
