// capsule-shim: one per running task, independent of capsuled (own session, reparented to
// init, no parent-death signal), so capsuled can restart and re-adopt its tasks. It runs
// `runc run` in the foreground (no terminal) with stdout/stderr on pipes, writes each line
// with its time and stream to the task's log (log_codec.h; a partial line is completed with a
// '\n' once its stream is quiet for a while or ends: line_splitter.h) while holding an exclusive
// flock on it (readers following the log see the lock go when the shim is done), and records its
// own PID, then the container's PID (from runc's --pid-file), then the exit status, each time
// atomically, in the bundle's status file (shim_status.h).
#pragma once

#include <string>

namespace capsule::agent {

struct ShimOptions {
  std::string bundle;
  std::string id;
  std::string runc_root;
  std::string runc_binary = "/usr/bin/runc";
  std::string log_path;     // the task's log
  std::string status_path;  // <bundle>/status
  std::string pid_file;     // <bundle>/pid
  std::string runc_log;     // <bundle>/runc.log: runc's own messages (JSON)
  int ready_fd = -1;        // gets one byte 'R' once the container runs; closed without it
                            // when it could not start (the status file then says why)
};

// Forks so that whoever started the shim can reap it at once: returns 1 in the parent (which
// should exit 0), 0 in the child (now in a new session, cwd /, umask 022), -1 when fork fails.
int DaemonizeShim();

// Runs the container to its end and records everything. Returns the shim's exit code: 0 when
// the exit status was recorded (whatever the container's exit code), 1 otherwise.
int RunShim(const ShimOptions& options);

}  // namespace capsule::agent
