// Process plumbing for the etcd Supervisor: the command line, fork/exec of the child, the
// pidfile, leftover and stale-socket cleanup, and the readiness probe. Internal to
// src/store/etcd (tests use it to fake a leftover member).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/etcd/supervisor.h"

namespace capsule::etcd {

inline constexpr char kClientSocketName[] = "client.sock:2379";
inline constexpr char kPidfileName[] = "etcd.pid";

// argv (argv[0] = config.etcd_binary) for a member running with cwd = config.dir.
std::vector<std::string> EtcdArgs(const MemberConfig& config);

// fork/exec argv in its own process group with cwd, stdin = /dev/null, every other
// inherited fd above 2 closed, signal mask and dispositions reset. With
// parent_death_signal the child gets PR_SET_PDEATHSIG(SIGKILL), which is tied to the
// calling THREAD: call it from a thread that lives as long as the child should.
// An exec failure is reported by the child over a pipe and returned here.
StatusOr<pid_t> SpawnProcess(const std::vector<std::string>& argv, const std::string& cwd,
                             bool parent_death_signal);

// Writes "<pid>\n" to path atomically (temp file + rename), mode 0600.
Status WritePidfile(const std::string& path, pid_t pid);

// If pidfile names a live process whose /proc/<pid>/exe is etcd_binary and whose cwd is dir,
// SIGKILLs it and waits (up to timeout) until it is dead (gone, or a zombie none of whose
// threads is still exiting). A process already exiting (neither exe nor cwd readable from any
// of its threads) is only waited for. Returns the killed PID, or 0 if there was nothing to kill.
StatusOr<pid_t> KillLeftover(const std::string& pidfile, const std::string& etcd_binary,
                             const std::string& dir, std::chrono::milliseconds timeout);

// Unlinks every socket file directly in dir (etcd leaves them behind after SIGKILL and then
// fails to bind). Returns how many were removed.
StatusOr<int> UnlinkStaleSockets(const std::string& dir);

// True if a connect() to the unix socket at path succeeds.
bool SocketAccepts(const std::string& path);

// "exited with status 1" / "killed by signal 9".
std::string DescribeWaitStatus(int wait_status);

}  // namespace capsule::etcd
