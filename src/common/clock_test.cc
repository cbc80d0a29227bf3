#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace capsule {
namespace {

TEST(FormatRfc3339Nano, TrimsTrailingZerosLikeGo) {
  EXPECT_EQ(FormatRfc3339Nano(FromUnixNanos(1795825634916834300)), "2026-11-28T00:27:14.9168343Z");
  EXPECT_EQ(FormatRfc3339Nano(FromUnixNanos(1795825634734904601)),
            "2026-11-28T00:27:14.734904601Z");
}

TEST(FormatRfc3339Nano, OmitsZeroFraction) {
  EXPECT_EQ(FormatRfc3339Nano(FromUnixNanos(1795825634000000000)), "2026-11-28T00:27:14Z");
}

TEST(ParseRfc3339Nano, RoundTrips) {
  for (int64_t ns : {1795825634916834300LL, 1795825634000000000LL, 1795825634000000001LL}) {
    TimePoint t;
    ASSERT_TRUE(ParseRfc3339Nano(FormatRfc3339Nano(FromUnixNanos(ns)), &t));
    EXPECT_EQ(ToUnixNanos(t), ns);
  }
}

TEST(ParseRfc3339Nano, RejectsGarbage) {
  TimePoint t;
  EXPECT_FALSE(ParseRfc3339Nano("yesterday", &t));
  EXPECT_FALSE(ParseRfc3339Nano("2026-11-28T00:27:14.Z", &t));
  EXPECT_FALSE(ParseRfc3339Nano("2026-11-28T00:27:14+01:00", &t));
}

TEST(RealClock, WaitForTimesOutWhenThePredicateStaysFalse) {
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  const SteadyTime start = RealClock().SteadyNow();
  EXPECT_FALSE(RealClock().WaitFor(cv, lock, std::chrono::milliseconds(20), [] { return false; }));
  EXPECT_GE(RealClock().SteadyNow() - start, std::chrono::milliseconds(20));
  EXPECT_TRUE(lock.owns_lock());
}

TEST(RealClock, WaitForReturnsWhenNotifiedAndThePredicateHolds) {
  std::mutex mu;
  std::condition_variable cv;
  bool ready = false;
  std::thread notifier([&] {
    std::lock_guard<std::mutex> lock(mu);
    ready = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  EXPECT_TRUE(RealClock().WaitFor(cv, lock, std::chrono::seconds(30), [&] { return ready; }));
  lock.unlock();
  notifier.join();
}

}  // namespace
}  // namespace capsule
