// An in-memory audit Log for unit tests: events in key order. A test may make Append fail
// (set_fail_appends) to exercise the recorder's retries. Thread-safe.
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

  // While true, Append answers Unavailable and stores nothing.
  void set_fail_appends(bool fail);
  size_t size() const;
  size_t appends() const;  // successful Append calls
  size_t trims() const;    // Trim calls

 private:
  mutable std::mutex mu_;
  std::map<std::string, Event> events_;  // by key
  bool fail_appends_ = false;
  size_t appends_ = 0;
  size_t trims_ = 0;
};

}  // namespace capsule::audit
