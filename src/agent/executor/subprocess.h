// Running helper programs (runc, the shim) from a multi-threaded daemon: everything the child
// needs is prepared before fork, the child only makes async-signal-safe calls, gets a clean
// signal state and exactly the file descriptors it is given, and reports a failed exec back
// over a close-on-exec pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::agent {

struct SpawnOptions {
  // Child fd i (3, 4, ...) is a dup of extra_fds[i - 3]. Stdin/stdout/stderr: dups of
  // stdin_fd/stdout_fd/stderr_fd, or /dev/null when -1. Every other fd is closed.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::vector<int> extra_fds;
  bool new_session = false;  // setsid() in the child
  // The child's whole environment: nothing of the daemon's is passed on.
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
};

// Starts argv[0] (an absolute path). Returns the child's PID once exec succeeded; a failed
// exec → an error naming the program (the child is reaped).
StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

// Waits for `pid` and returns its exit code (128+signal when killed by a signal).
StatusOr<int> WaitExit(pid_t pid);

struct CommandResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// Runs argv to completion, capturing stdout and stderr. After `timeout` the child is killed
// (SIGKILL) and DeadlineExceeded is returned.
StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace capsule::agent
