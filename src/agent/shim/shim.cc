#include "agent/shim/shim.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "agent/executor/fs_util.h"
#include "agent/executor/log_codec.h"
#include "agent/executor/shim_status.h"
#include "agent/executor/subprocess.h"
#include "agent/shim/line_splitter.h"
#include "common/clock.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

constexpr auto kDrainAfterExit = std::chrono::seconds(2);

int64_t NowNanos() { return ToUnixNanos(std::chrono::system_clock::now()); }

// The last error runc logged (JSON lines: {"level":"error","msg":...}).
std::string LastRuncError(const std::string& runc_log) {
  auto text = ReadFile(runc_log);
  if (!text.ok()) return "";
  std::string last;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) continue;
    auto level = j.find("level");
    auto msg = j.find("msg");
    if (level != j.end() && level->is_string() && (*level == "error" || *level == "fatal") &&
        msg != j.end() && msg->is_string()) {
      last = msg->get<std::string>();
    }
  }
  return last;
}

std::optional<int64_t> ReadPidFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return std::nullopt;
  int64_t pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) || pid <= 0) return std::nullopt;
  return pid;
}

// The log file, created under a temporary name, locked, then renamed into place: a reader
// never finds it unlocked while the shim lives.
StatusOr<UniqueFd> OpenLockedLog(const std::string& path) {
  const std::string tmp = path + ".new";
  ::unlink(tmp.c_str());
  UniqueFd fd(
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoStatus("create", tmp, errno);
  if (::flock(fd.get(), LOCK_EX) != 0) return ErrnoStatus("lock", tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("rename", path, errno);
  return fd;
}

class Shim {
 public:
  explicit Shim(const ShimOptions& o) : o_(o) {}

  int Run() {
    status_.shim_pid = ::getpid();
    status_.shim_start_ticks = ProcessStartTicks(status_.shim_pid);
    Status st = Setup();
    if (!st.ok()) {
      status_.exited = true;
      status_.exit_code = 255;
      status_.finished_ns = NowNanos();
      status_.error = std::string(st.message());
      return WriteShimStatus(o_.status_path, status_).ok() ? 0 : 1;
    }
    Loop();
    return Finish();
  }

 private:
  Status Setup() {
    ASSIGN_OR_RETURN(log_, OpenLockedLog(o_.log_path));
    RETURN_IF_ERROR(WriteShimStatus(o_.status_path, status_));

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (::sigprocmask(SIG_BLOCK, &chld, nullptr) != 0) return ErrnoStatus("sigprocmask", "", errno);
    sigfd_.Reset(::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigfd_.valid()) return ErrnoStatus("signalfd", "", errno);

    inotify_.Reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    if (!inotify_.valid()) return ErrnoStatus("inotify_init1", "", errno);
    if (::inotify_add_watch(inotify_.get(), o_.bundle.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
      return ErrnoStatus("inotify_add_watch", o_.bundle, errno);
    }

    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "", errno);
    out_.Reset(out[0]);
    UniqueFd out_write(out[1]);
    if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", "", errno);
    err_.Reset(err[0]);
    UniqueFd err_write(err[1]);

    ::unlink(o_.pid_file.c_str());
    SpawnOptions spawn;
    spawn.stdout_fd = out_write.get();
    spawn.stderr_fd = err_write.get();
    ASSIGN_OR_RETURN(runc_pid_, Spawn({o_.runc_binary, "--root", o_.runc_root, "--log", o_.runc_log,
                                       "--log-format", "json", "run", "--bundle", o_.bundle,
                                       "--pid-file", o_.pid_file, o_.id},
                                      spawn));
    return absl::OkStatus();
  }

  void WriteLine(int stream, std::string text) {
    LogLine line{std::chrono::system_clock::now(), stream, std::move(text)};
    // A full disk loses log lines, never the task: errors are dropped here.
    WriteAll(log_.get(), EncodeLogLine(line), o_.log_path).IgnoreError();
  }

  void CheckStarted() {
    if (started_) return;
    std::optional<int64_t> pid = ReadPidFile(o_.pid_file);
    if (!pid.has_value()) return;
    started_ = true;
    status_.pid = *pid;
    status_.started_ns = NowNanos();
    WriteShimStatus(o_.status_path, status_).IgnoreError();
    SignalReady('R');
  }

  void SignalReady(char byte) {
    if (o_.ready_fd < 0) return;
    if (byte != 0) {
      ssize_t ignored = ::write(o_.ready_fd, &byte, 1);
      (void)ignored;
    }
    ::close(o_.ready_fd);
    o_.ready_fd = -1;
  }

  void ReapChild() {
    struct signalfd_siginfo info;
    while (::read(sigfd_.get(), &info, sizeof(info)) > 0) {
    }
    int wstatus = 0;
    pid_t r;
    while ((r = ::waitpid(-1, &wstatus, WNOHANG)) > 0) {
      if (r != runc_pid_) continue;
      exit_code_ = WIFEXITED(wstatus)     ? WEXITSTATUS(wstatus)
                   : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus)
                                          : 255;
      exited_at_ = std::chrono::steady_clock::now();
    }
  }

  void Loop() {
    LineSplitter out_lines([this](std::string s) { WriteLine(1, std::move(s)); });
    LineSplitter err_lines([this](std::string s) { WriteLine(2, std::move(s)); });
    CheckStarted();  // the pid file may have appeared before the watch
    for (;;) {
      const bool pipes_open = out_.valid() || err_.valid();
      if (exit_code_.has_value() && !pipes_open) break;
      int timeout_ms = -1;
      if (exit_code_.has_value()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            exited_at_ + kDrainAfterExit - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;  // something outside the container holds the pipes
        timeout_ms = static_cast<int>(left.count());
      }
      // A partial line is completed when its stream stays quiet (line_splitter.h).
      for (const LineSplitter* lines : {&out_lines, &err_lines}) {
        if (std::optional<LineSplitter::Instant> due = lines->Due()) {
          const auto wait =
              std::chrono::ceil<std::chrono::milliseconds>(*due - std::chrono::steady_clock::now());
          const int ms = static_cast<int>(std::max<int64_t>(wait.count(), 0));
          timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
        }
      }
      struct pollfd fds[4] = {{out_.get(), POLLIN, 0},
                              {err_.get(), POLLIN, 0},
                              {sigfd_.get(), POLLIN, 0},
                              {started_ ? -1 : inotify_.get(), POLLIN, 0}};
      int r = ::poll(fds, 4, timeout_ms);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[3].revents != 0) {
        char buf[4096];
        while (::read(inotify_.get(), buf, sizeof(buf)) > 0) {
        }
        CheckStarted();
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        char buf[65536];
        ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        LineSplitter& lines = i == 0 ? out_lines : err_lines;
        if (n <= 0) {
          lines.Finish();
          (i == 0 ? out_ : err_).Reset();
          continue;
        }
        lines.Feed(std::string_view(buf, static_cast<size_t>(n)), std::chrono::steady_clock::now());
      }
      const auto now = std::chrono::steady_clock::now();
      out_lines.FlushIfDue(now);
      err_lines.FlushIfDue(now);
      if (fds[2].revents != 0) ReapChild();
    }
    out_lines.Finish();
    err_lines.Finish();
  }

  int Finish() {
    CheckStarted();
    status_.exited = true;
    status_.exit_code = exit_code_.value_or(255);
    status_.finished_ns = NowNanos();
    if (!started_) {
      status_.error = LastRuncError(o_.runc_log);
      if (status_.error.empty()) {
        status_.error = "runc exited with status " + std::to_string(status_.exit_code);
      }
    }
    Status st = WriteShimStatus(o_.status_path, status_);
    SignalReady(0);
    return st.ok() ? 0 : 1;
  }

  ShimOptions o_;
  ShimStatus status_;
  UniqueFd log_, sigfd_, inotify_, out_, err_;
  pid_t runc_pid_ = -1;
  bool started_ = false;
  std::optional<int> exit_code_;
  std::chrono::steady_clock::time_point exited_at_;
};

}  // namespace

int DaemonizeShim() {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid > 0) return 1;
  ::setsid();
  // runc creates missing mount points in the rootfs with this umask: Docker's 022.
  ::umask(022);
  if (::chdir("/") != 0) return -1;
  return 0;
}

int RunShim(const ShimOptions& options) {
  // The shim ends with its container, not with a stray signal from a terminal or a restart.
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  return Shim(options).Run();
}

}  // namespace capsule::agent
