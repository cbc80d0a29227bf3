// The status file the shim keeps in the bundle: written atomically (temporary + rename) at
// each step — shim started, container started (pid), container exited (exit code) — so the
// executor, including one started after a capsuled restart, reads a complete record.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace capsule::agent {

struct ShimStatus {
  int64_t shim_pid = 0;
  uint64_t shim_start_ticks = 0;  // /proc/<pid>/stat start time: tells a reused PID apart
  int64_t pid = 0;                // the container's init (host PID) once started
  int64_t started_ns = 0;         // Unix nanoseconds
  bool exited = false;
  int64_t exit_code = 0;  // 128+signal when killed by a signal
  int64_t finished_ns = 0;
  std::string error;  // why the container did not start (runc's message), when it did not
};

Status WriteShimStatus(const std::string& path, const ShimStatus& status);
// Missing file → NotFound; unparsable → DataLoss.
StatusOr<ShimStatus> ReadShimStatus(const std::string& path);

// The start time (clock ticks after boot, field 22 of /proc/<pid>/stat) of a live process,
// or 0 when it does not exist.
uint64_t ProcessStartTicks(int64_t pid);

// True when the process recorded as (pid, start_ticks) is still alive (and not a zombie).
bool ProcessAlive(int64_t pid, uint64_t start_ticks);

}  // namespace capsule::agent
