// Where audit events are kept: an ordered log of events, each under its own key
// (event.h's EventKey), appended in batches, read from a point in time on, and trimmed
// oldest-first. The real one lives in etcd (audit/etcd_log.h); unit tests use MemoryLog
// (audit/memory_log.h). Thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "audit/event.h"
#include "common/status.h"

namespace capsule::audit {

// Events per Append (below etcd's operations per Txn, etcd::kMaxTxnOps).
inline constexpr size_t kMaxAppend = 100;

// One event as the store keeps it: its full key and its plaintext value (sealed by whoever
// writes it). For a log that lives in the object store's etcd, a change writes its own event
// in its own Txn (store::SideWrite): the change and its event are both stored or neither.
struct StoredEvent {
  std::string key;
  std::string value;
};

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
  // `event` (with its `key` set) as this log stores it, for a caller that writes it itself
  // with the change it records; nullopt when this log's events cannot be written that way.
  virtual std::optional<StoredEvent> Stored(const Event& /*event*/) const { return std::nullopt; }
};

}  // namespace capsule::audit
