// Time comes in through Clock so tests can use a fake one.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace capsule {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The real wall clock. Thread-safe.
Clock& RealClock();

// Go's time.RFC3339Nano in UTC, the format of every Docker timestamp: trailing zeros of
// the fraction are dropped, and the fraction is omitted when it is zero.
// 2026-11-28T00:27:14.9168343Z
std::string FormatRfc3339Nano(TimePoint t);

// Parses what FormatRfc3339Nano writes (UTC "Z" only). Returns false on bad input.
bool ParseRfc3339Nano(const std::string& s, TimePoint* out);

// Nanoseconds since the Unix epoch, for compact storage.
int64_t ToUnixNanos(TimePoint t);
TimePoint FromUnixNanos(int64_t ns);

}  // namespace capsule
