// An in-memory audit Log for unit tests: events in key order. A test may make Append fail
// (set_fail_appends) to exercise the recorder's retries, and may let callers write events
// themselves (set_stored_by_caller: Stored gives the event's form, Put stores it as a
// store's Txn would). Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "audit/log.h"

namespace capsule::audit {

class MemoryLog : public Log {
 public:
  Status Append(const std::vector<Event>& events) override;
  StatusOr<std::vector<Event>> ReadSince(TimePoint since) const override;
  StatusOr<size_t> Trim(size_t keep) override;
  // While stored_by_caller is set: {event.key, EncodeEvent(event)}; otherwise nullopt.
  std::optional<StoredEvent> Stored(const Event& event) const override;

  void set_stored_by_caller(bool on);
  // Stores what Stored gave (the test standing in for the store's Txn).
  Status Put(const StoredEvent& stored);

  // While true, Append answers Unavailable and stores nothing.
  void set_fail_appends(bool fail);
  // While true, Trim answers Unavailable and deletes nothing (it is still counted).
  void set_fail_trims(bool fail);
  size_t size() const;
  size_t appends() const;  // successful Append calls
  size_t trims() const;    // Trim calls

 private:
  mutable std::mutex mu_;
  std::map<std::string, Event> events_;  // by key
  bool fail_appends_ = false;
  bool stored_by_caller_ = false;
  bool fail_trims_ = false;
  size_t appends_ = 0;
  size_t trims_ = 0;
};

}  // namespace capsule::audit
