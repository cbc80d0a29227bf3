// Where audit events are kept: an ordered log of events, each under its own key
// (event.h's EventKey), appended in batches, read from a point in time on, and trimmed
// oldest-first. The real one lives in etcd (audit/etcd_log.h); unit tests use MemoryLog
// (audit/memory_log.h). Thread-safe.
#pragma once

#include <cstddef>
#include <vector>

#include "audit/event.h"
#include "common/status.h"

namespace capsule::audit {

// Events per Append (below etcd's operations per Txn, etcd::kMaxTxnOps).
inline constexpr size_t kMaxAppend = 100;

class Log {
 public:
  virtual ~Log() = default;
  // Stores every event under its `key` (all or none of one call; at most kMaxAppend events).
  // Unavailable when the store cannot be reached.
  virtual Status Append(const std::vector<Event>& events) = 0;
  // The events whose key is at or after KeyAtOrAfter(since), in key order (oldest first),
  // each with its `key` filled in. DataLoss for a value that does not open or decode.
  virtual StatusOr<std::vector<Event>> ReadSince(TimePoint since) const = 0;
  // Deletes the oldest events so that at most `keep` remain; returns how many it deleted.
  virtual StatusOr<size_t> Trim(size_t keep) = 0;
};

}  // namespace capsule::audit
