// The fake clock: time moves only on Advance, which wakes exactly the waiters it makes due.
#include "testing/fake_clock.h"

#include <gtest/gtest.h>

#include <thread>

#include "testing/eventually.h"

namespace capsule::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(FakeClockTest, StartsWhereToldAndMovesOnlyWhenAdvanced) {
  FakeClock clock(TimePoint(seconds(1000)));
  const SteadyTime steady = clock.SteadyNow();
  EXPECT_EQ(clock.Now(), TimePoint(seconds(1000)));
  clock.Advance(milliseconds(1500));
  EXPECT_EQ(clock.Now(), TimePoint(milliseconds(1001500)));
  EXPECT_EQ(clock.SteadyNow() - steady, milliseconds(1500));
}

TEST(FakeClockTest, SetNowMovesTheWallClockOnly) {
  FakeClock clock;
  const SteadyTime steady = clock.SteadyNow();
  clock.SetNow(FakeClock::kDefaultStart - std::chrono::hours(1));
  EXPECT_EQ(clock.Now(), FakeClock::kDefaultStart - std::chrono::hours(1));
  EXPECT_EQ(clock.SteadyNow(), steady);
}

TEST(FakeClockTest, ReachedDeadlineReturnsAtOnce) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_FALSE(clock.WaitUntil(cv, lock, clock.SteadyNow(), [] { return false; }));
  EXPECT_TRUE(clock.WaitFor(cv, lock, seconds(5), [] { return true; }));
  EXPECT_TRUE(lock.owns_lock());
  EXPECT_EQ(clock.waiters(), 0u);
}

// A thread that waits `timeout` on the clock, then records whether it timed out.
class Sleeper {
 public:
  Sleeper(FakeClock& clock, std::chrono::nanoseconds timeout)
      : thread_([this, &clock, timeout] {
          std::unique_lock<std::mutex> lock(mu_);
          const bool woken = clock.WaitFor(cv_, lock, timeout, [this] { return poked_; });
          result_ = woken ? "poked" : "timed out";
        }) {}
  ~Sleeper() {
    Poke();
    thread_.join();
  }
  void Poke() {
    std::lock_guard<std::mutex> lock(mu_);
    poked_ = true;
    cv_.notify_all();
  }
  std::string result() {
    std::lock_guard<std::mutex> lock(mu_);
    return result_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool poked_ = false;
  std::string result_;
  std::thread thread_;
};

TEST(FakeClockTest, AdvanceWakesOnlyTheWaitersItMakesDue) {
  FakeClock clock;
  Sleeper short_wait(clock, seconds(1));
  Sleeper long_wait(clock, seconds(10));
  ASSERT_TRUE(clock.AwaitWaiters(2));
  clock.Advance(milliseconds(999));
  EXPECT_EQ(clock.waiters(), 2u);
  clock.Advance(milliseconds(1));
  EXPECT_EQ(clock.waiters(), 1u);  // Advance took the due one off before returning
  ASSERT_TRUE(Eventually([&] { return short_wait.result() == "timed out"; }));
  EXPECT_EQ(long_wait.result(), "");
  clock.Advance(seconds(9));
  ASSERT_TRUE(Eventually([&] { return long_wait.result() == "timed out"; }));
  EXPECT_EQ(clock.waiters(), 0u);
}

TEST(FakeClockTest, NotifiedWaiterWhosePredicateHoldsReturnsBeforeItsDeadline) {
  FakeClock clock;
  Sleeper sleeper(clock, seconds(10));
  ASSERT_TRUE(clock.AwaitWaiters(1));
  sleeper.Poke();
  ASSERT_TRUE(Eventually([&] { return sleeper.result() == "poked"; }));
  EXPECT_EQ(clock.waiters(), 0u);
}

TEST(FakeClockTest, ManyAdvancesRacingWithWaitersLoseNoWakeup) {
  FakeClock clock;
  std::mutex mu;
  std::condition_variable cv;
  int ticks = 0;
  std::thread ticker([&] {
    std::unique_lock<std::mutex> lock(mu);
    while (ticks < 200) {
      clock.WaitFor(cv, lock, milliseconds(1), [] { return false; });
      ++ticks;
    }
  });
  // Each Advance either wakes the ticker or happens before it computes its next deadline.
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (ticks >= 200) break;
    }
    clock.Advance(milliseconds(1));
    std::this_thread::yield();
  }
  ticker.join();
  EXPECT_EQ(clock.waiters(), 0u);
}

}  // namespace
}  // namespace capsule::testing
