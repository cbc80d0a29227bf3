// MemberTrustFollower: a manager's etcd member is restarted with the node's trust root when it
// runs with another one, only while the others keep the quorum, holding the cluster-wide turn,
// and gives the turn back only after a restart that worked.
#include "node/member_trust.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/fake_clock.h"

namespace capsule::node {
namespace {

class MemberTrustTest : public ::testing::Test {
 protected:
  MemberTrustDeps Deps() {
    return {
        .wanted = [this] { return wanted_; },
        .running = [this] { return running_; },
        .may_stop = [this] { return may_stop_; },
        .take_turn = [this]() -> StatusOr<bool> {
          calls_.push_back("take");
          if (!turn_free_) return false;
          turn_free_ = false;
          return true;
        },
        .give_turn =
            [this] {
              calls_.push_back("give");
              turn_free_ = true;
            },
        .restart = [this](const std::string& pem) -> Status {
          calls_.push_back("restart");
          if (!restart_works_) return absl::DeadlineExceededError("member did not come back");
          running_ = pem;
          return absl::OkStatus();
        },
    };
  }

  testing::FakeClock clock_;
  std::string wanted_ = "new root";
  std::string running_ = "old root";
  bool may_stop_ = true;
  bool turn_free_ = true;
  bool restart_works_ = true;
  std::vector<std::string> calls_;
};

TEST_F(MemberTrustTest, MemberTrustingTheCurrentRootIsLeftAlone) {
  running_ = wanted_;
  MemberTrustFollower f(Deps(), clock_);
  StatusOr<bool> r = f.Tick();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(*r);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(MemberTrustTest, UnknownTrustRootChangesNothing) {
  wanted_ = "";
  MemberTrustFollower f(Deps(), clock_);
  StatusOr<bool> r = f.Tick();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(*r);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(MemberTrustTest, MemberOfTheOldRootRestartsWithTheNewOneHoldingTheTurn) {
  MemberTrustFollower f(Deps(), clock_);
  StatusOr<bool> r = f.Tick();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  EXPECT_EQ(running_, "new root");
  EXPECT_EQ(calls_, (std::vector<std::string>{"take", "restart", "give"}));
  EXPECT_TRUE(turn_free_);
  // Done: the next check does nothing.
  calls_.clear();
  r = f.Tick();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_TRUE(calls_.empty());
}

TEST_F(MemberTrustTest, WaitsWhileTheQuorumWouldNotSurviveTheRestart) {
  may_stop_ = false;
  MemberTrustFollower f(Deps(), clock_);
  StatusOr<bool> r = f.Tick();
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_TRUE(calls_.empty());  // not even the turn was taken
  EXPECT_EQ(running_, "old root");
}

TEST_F(MemberTrustTest, WaitsWhileAnotherManagerHoldsTheTurn) {
  turn_free_ = false;
  MemberTrustFollower f(Deps(), clock_);
  StatusOr<bool> r = f.Tick();
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_EQ(calls_, (std::vector<std::string>{"take"}));
  EXPECT_EQ(running_, "old root");
  // Its turn ends: this one goes.
  turn_free_ = true;
  r = f.Tick();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
}

TEST_F(MemberTrustTest, FailedRestartKeepsTheTurnTaken) {
  restart_works_ = false;
  MemberTrustFollower f(Deps(), clock_);
  StatusOr<bool> r = f.Tick();
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_EQ(calls_, (std::vector<std::string>{"take", "restart"}));
  EXPECT_FALSE(turn_free_);  // released by its lease only
}

TEST(OthersNeededToRestartTest, AQuorumOfTheOthers) {
  EXPECT_EQ(OthersNeededToRestart(1), 0u);
  EXPECT_EQ(OthersNeededToRestart(2), 1u);  // the store pauses: unavoidable with two
  EXPECT_EQ(OthersNeededToRestart(3), 2u);
  EXPECT_EQ(OthersNeededToRestart(5), 3u);
  EXPECT_EQ(OthersNeededToRestart(7), 4u);
}

}  // namespace
}  // namespace capsule::node
