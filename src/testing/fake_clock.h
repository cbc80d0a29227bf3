// A Clock for tests: time moves only when the test moves it, and moving it fires the deadlines
// it reaches.
//
// Now() (wall) and SteadyNow() (monotonic) start at fixed values and move together by
// Advance(d); SetNow(t) sets the wall clock alone (e.g. back before a certificate's start) and
// never moves the monotonic one. A thread blocked in WaitUntil is a *waiter* until pred()
// holds or its deadline is reached: Advance wakes every waiter whose deadline it reaches (each at
// most once: time jumps by d at once) before it returns; the woken threads then go on by
// themselves. A deadline already reached when WaitUntil is called returns at once.
//
// A fake-clock step against a component's thread:
//   ASSERT_TRUE(clock.AwaitWaiters(1));   // its step is done and it waits for its next tick
//   EXPECT_...(what the step must, and must not, have done);
//   clock.Advance(tick);                  // the next step starts
// so a test checks what happened in a step instead of sleeping and hoping the step ran.
//
// Thread-safe. Advance locks each woken waiter's mutex to wake it without a lost notification,
// so it must not be called while holding a mutex a waiter waits with.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <list>
#include <mutex>

#include "common/clock.h"
#include "common/mutex.h"

namespace capsule::testing {

class FakeClock final : public Clock {
 public:
  // 2027-01-15T08:00:00Z unless the test says otherwise.
  static constexpr TimePoint kDefaultStart = TimePoint(std::chrono::seconds(1800000000));

  explicit FakeClock(TimePoint start = kDefaultStart);
  FakeClock(const FakeClock&) = delete;
  FakeClock& operator=(const FakeClock&) = delete;

  TimePoint Now() const override;
  SteadyTime SteadyNow() const override;
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 SteadyTime deadline, absl::FunctionRef<bool()> pred) const override;

  // Moves both clocks on by `d` (>= 0) and wakes the waiters whose deadline is now reached,
  // earliest deadline first.
  void Advance(std::chrono::nanoseconds d);
  // Sets the wall clock only (it may go back); wakes no one.
  void SetNow(TimePoint t);

  // Threads blocked in WaitUntil right now.
  size_t waiters() const;
  // Blocks (in real time, up to `timeout`) until at least `n` threads are blocked in
  // WaitUntil. False on timeout.
  bool AwaitWaiters(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(15)) const;

 private:
  struct Waiter;

  mutable Mutex mu_;
  // Notified whenever a waiter comes or goes and when Advance has woken one.
  mutable std::condition_variable changed_;
  TimePoint now_ ABSL_GUARDED_BY(mu_);
  SteadyTime steady_ ABSL_GUARDED_BY(mu_);
  mutable std::list<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);  // blocked, deadline not reached
};

}  // namespace capsule::testing
