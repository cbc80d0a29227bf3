// Time comes in through Clock so tests can use a fake one (src/testing/fake_clock.h) whose time
// moves only when the test moves it.
//
// Two kinds of time: Now() is the wall clock, for timestamps that are stored or shown (a task's
// status time, a certificate's validity); SteadyNow() is monotonic, for durations, backoffs and
// deadlines. WaitUntil/WaitFor are condition-variable waits whose deadline is on SteadyNow()'s
// time: a component that sleeps, polls or backs off through them (never through
// std::this_thread::sleep_for or cv.wait_for) is stepped by a fake clock in tests.
// Implementations are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "absl/functional/function_ref.h"

namespace capsule {

using TimePoint = std::chrono::system_clock::time_point;
using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (may jump when the system time is set).
  virtual TimePoint Now() const = 0;
  // Monotonic time: never goes back.
  virtual SteadyTime SteadyNow() const = 0;

  // As std::condition_variable::wait_until(lock, deadline, pred), with `deadline` on this
  // clock's SteadyNow(): blocks until pred() is true (it is evaluated with `lock` held, at
  // entry and whenever `cv` is notified) or the deadline has passed, and returns pred()'s last
  // value. `lock` must hold the mutex that guards pred's state; it is released while blocked
  // and held again on return.
  virtual bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         SteadyTime deadline, absl::FunctionRef<bool()> pred) const = 0;

  // WaitUntil(SteadyNow() + timeout).
  bool WaitFor(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
               std::chrono::nanoseconds timeout, absl::FunctionRef<bool()> pred) const {
    return WaitUntil(cv, lock, SteadyNow() + timeout, pred);
  }
};

// The real clocks: std::chrono::system_clock and steady_clock. Only src/node/ (and tests that
// need real time) use it; everything else takes a Clock&.
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
