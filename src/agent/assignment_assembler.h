// The node's side of assignment parts (api/capsule/dispatcher.proto, AssignmentChanges.more):
// collects the parts of one change in order and hands out the whole change only when its last
// part (more = false) has arrived, so the agent applies a large complete set at once: no task
// starts before every secret it needs is in, and no held secret is dropped while the rest of
// a complete set is still on its way. A change in one message passes through unchanged. One
// instance per session (a new session starts afresh; parts never span sessions). Pending
// parts above max_pending_bytes are a broken stream: Add returns an error. Not thread-safe.
#pragma once

#include <cstddef>

#include "capsule/dispatcher.pb.h"
#include "common/status.h"

namespace capsule::agent {

class AssignmentAssembler {
 public:
  // Far above any real set (a node's secrets are held in locked memory anyway).
  static constexpr size_t kDefaultMaxPendingBytes = size_t{1} << 30;

  explicit AssignmentAssembler(size_t max_pending_bytes = kDefaultMaxPendingBytes)
      : max_pending_bytes_(max_pending_bytes) {}

  // Takes the next message's changes (consumed). OK(true): *out holds a complete change (more
  // cleared). OK(false): more parts are awaited. InvalidArgument: parts whose full_set
  // differ, or too many pending bytes (the pending parts are dropped).
  StatusOr<bool> Add(api::AssignmentChanges part, api::AssignmentChanges* out);

  bool pending() const { return parts_ > 0; }

 private:
  void Reset();

  const size_t max_pending_bytes_;
  api::AssignmentChanges pending_;
  size_t pending_bytes_ = 0;
  int parts_ = 0;
};

}  // namespace capsule::agent
