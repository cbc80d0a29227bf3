#include "common/periodic.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "testing/fake_clock.h"

namespace capsule {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PeriodicTest, TicksOncePerPeriodStartingOnePeriodAfterStart) {
  testing::FakeClock clock;
  std::atomic<int> ticks{0};
  Periodic loop(clock);
  loop.Start(seconds(1), [&] { ++ticks; });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_EQ(ticks.load(), 0);
  clock.Advance(milliseconds(999));
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_EQ(ticks.load(), 0);
  clock.Advance(milliseconds(1));
  ASSERT_TRUE(clock.AwaitWaiters(1));  // back in its wait: the tick has run
  EXPECT_EQ(ticks.load(), 1);
  clock.Advance(seconds(1));
  ASSERT_TRUE(clock.AwaitWaiters(1));
  EXPECT_EQ(ticks.load(), 2);
}

TEST(PeriodicTest, StopEndsTheWaitAtOnceWithoutATick) {
  testing::FakeClock clock;
  std::atomic<int> ticks{0};
  Periodic loop(clock);
  loop.Start(hours(1), [&] { ++ticks; });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  loop.Stop();  // returns although the fake clock never reaches the hour
  EXPECT_EQ(clock.waiters(), 0u);
  EXPECT_EQ(ticks.load(), 0);
  loop.Stop();  // idempotent
}

TEST(PeriodicTest, StopWithoutStartAndDestructionAreHarmless) {
  testing::FakeClock clock;
  Periodic never(clock);
  never.Stop();
  { Periodic destroyed(clock); }
}

}  // namespace
}  // namespace capsule
