// QuorumWatch on a fake clock: a probe "takes" time by moving the clock, as a real probe's
// deadline would.
#include "manager/membership/quorum_watch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "testing/fake_clock.h"

namespace capsule::membership {
namespace {

using std::chrono::milliseconds;

constexpr char kDockerText[] =
    "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too "
    "few managers are online. Make sure more than half of the managers are online.";

class QuorumWatchTest : public ::testing::Test {
 protected:
  // Each probe answers the next outcome (the last one repeats) after `probe_takes`.
  QuorumWatch MakeWatch(milliseconds retry = milliseconds(0)) {
    QuorumWatchOptions o;
    o.retry = retry;
    return QuorumWatch(
        clock_, [this] { return Probe(); }, o);
  }
  Status Probe() {
    const bool ok = outcomes_[std::min(probes_, outcomes_.size() - 1)];
    ++probes_;
    clock_.Advance(probe_takes_);
    return ok ? absl::OkStatus() : absl::DeadlineExceededError("context deadline exceeded");
  }

  testing::FakeClock clock_;
  std::vector<bool> outcomes_ = {true};
  size_t probes_ = 0;
  milliseconds probe_takes_{0};
};

TEST_F(QuorumWatchTest, ASuccessfulProbeIsQuorum) {
  QuorumWatch w = MakeWatch();
  EXPECT_TRUE(w.Check().ok());
  EXPECT_EQ(probes_, 1u);
}

TEST_F(QuorumWatchTest, AFreshSuccessAnswersWithoutAProbe) {
  QuorumWatch w = MakeWatch();
  ASSERT_TRUE(w.Check().ok());
  clock_.Advance(milliseconds(900));
  EXPECT_TRUE(w.Check().ok());
  EXPECT_EQ(probes_, 1u);
  clock_.Advance(milliseconds(100));
  EXPECT_TRUE(w.Check().ok());
  EXPECT_EQ(probes_, 2u);
}

TEST_F(QuorumWatchTest, ProbesFailingForTwoSecondsGiveDockersNoLeaderText) {
  outcomes_ = {false};
  probe_takes_ = milliseconds(500);  // the election client's deadline
  QuorumWatch w = MakeWatch();
  const SteadyTime start = clock_.SteadyNow();
  Status s = w.Check();
  EXPECT_EQ(s.code(), StatusCode::kUnknown);
  EXPECT_EQ(s.message(), kDockerText);
  EXPECT_EQ(clock_.SteadyNow() - start, milliseconds(2000));  // the bounded wait
  EXPECT_EQ(probes_, 4u);
}

TEST_F(QuorumWatchTest, OnceLostEachCallCostsOneProbe) {
  outcomes_ = {false};
  probe_takes_ = milliseconds(500);
  QuorumWatch w = MakeWatch();
  ASSERT_FALSE(w.Check().ok());
  const size_t before = probes_;
  const SteadyTime start = clock_.SteadyNow();
  EXPECT_EQ(w.Check().message(), kDockerText);
  EXPECT_EQ(probes_, before + 1);
  EXPECT_EQ(clock_.SteadyNow() - start, milliseconds(500));
}

TEST_F(QuorumWatchTest, QuorumReturnsWithTheFirstSuccessfulProbe) {
  outcomes_ = {false, false, false, false, false, true};
  probe_takes_ = milliseconds(500);
  QuorumWatch w = MakeWatch();
  ASSERT_FALSE(w.Check().ok());  // 4 probes
  ASSERT_FALSE(w.Check().ok());  // the 5th
  EXPECT_TRUE(w.Check().ok());   // the 6th succeeds: no restart needed
  outcomes_ = {false};           // a later loss starts a new two-second run
  probes_ = 0;
  clock_.Advance(milliseconds(1000));
  const SteadyTime start = clock_.SteadyNow();
  EXPECT_FALSE(w.Check().ok());
  EXPECT_EQ(clock_.SteadyNow() - start, milliseconds(2000));
}

TEST_F(QuorumWatchTest, OneStalledProbeIsNotALoss) {
  outcomes_ = {false, true};
  probe_takes_ = milliseconds(500);
  QuorumWatch w = MakeWatch();
  EXPECT_TRUE(w.Check().ok());
  EXPECT_EQ(probes_, 2u);
}

TEST_F(QuorumWatchTest, FastFailingProbesAreRetriedOnTheClock) {
  outcomes_ = {false};  // e.g. etcd refuses connections: each probe fails at once
  QuorumWatch w = MakeWatch(milliseconds(200));
  Status result;
  std::thread caller([&] { result = w.Check(); });
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(clock_.AwaitWaiters(1));
    clock_.Advance(milliseconds(200));
  }
  caller.join();
  EXPECT_EQ(result.message(), kDockerText);
  EXPECT_EQ(probes_, 11u);  // at 0, 0.2, ... 2.0 s
}

}  // namespace
}  // namespace capsule::membership
