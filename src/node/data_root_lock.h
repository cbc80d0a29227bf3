// One capsuled per data root: an exclusive flock on <data-root>/capsuled.lock, held for as long
// as the returned descriptor stays open — the daemon's lifetime. It is close-on-exec, so tasks
// and etcd never hold it, and the kernel lets go of it when the daemon dies, even by kill -9:
// a restart after a crash is not refused. The file holds the holder's PID, for the message a
// second daemon gets.
#pragma once

#include <string>

#include "common/status.h"
#include "common/unique_fd.h"

namespace capsule::node {

// The data root must exist. FailedPrecondition "data root <dir> is in use by another capsuled
// (pid N) ..." when another process holds the lock; the errno of a failed open/lock otherwise.
StatusOr<UniqueFd> LockDataRoot(const std::string& data_root);

}  // namespace capsule::node
