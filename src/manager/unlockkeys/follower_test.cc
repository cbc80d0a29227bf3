// Every manager follows the cluster object (follower.h), on the MemoryStore's read model with a
// FakeClock: a change of the cluster object runs converge once, other objects do not, and a
// failed converge is retried after the retry period.
#include "manager/unlockkeys/follower.h"

#include <gtest/gtest.h>

#include <atomic>

#include "objects/objects.h"
#include "store/memory_store.h"
#include "store/read_modify_write.h"
#include "testing/eventually.h"
#include "testing/fake_clock.h"

namespace capsule::unlockkeys {
namespace {

constexpr char kId[] = "cluster1";

class FollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Cluster c;
    c.id = kId;
    ASSERT_TRUE(store_.Create({kClusterKind, kId, ""}, {EncodeClusterMeta(c), {}}).ok());
    ASSERT_TRUE(reads_.Start().ok());
    ASSERT_TRUE(reads_.WaitFresh().ok());
  }
  void TearDown() override {
    follower_.Stop();
    reads_.Stop();
  }
  void TouchCluster() {
    ASSERT_TRUE(store::UpdateLatest(store_, kClusterKind, kId,
                                    [](store::StoredRecord&) -> StatusOr<store::Mutation> {
                                      return store::Mutation::kWrite;
                                    })
                    .ok());
    ASSERT_TRUE(reads_.WaitFresh().ok());
  }
  void Start() { follower_.Start(reads_.GetCluster()->mod_revision); }

  store::MemoryStore store_;
  store::ReadModel reads_{store_};
  testing::FakeClock clock_;
  std::atomic<int> calls_{0};
  std::atomic<bool> fail_{false};
  UnlockKeyFollower follower_{reads_, clock_,
                              [this]() -> Status {
                                ++calls_;
                                if (fail_) return absl::UnavailableError("etcd down");
                                return absl::OkStatus();
                              },
                              std::chrono::seconds(1)};
};

TEST_F(FollowerTest, AClusterChangeConvergesOnce) {
  Start();
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(calls_, 0);  // what the caller converged to already
  TouchCluster();
  EXPECT_TRUE(testing::Eventually([&] { return calls_ == 1; }));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(calls_, 1);
}

TEST_F(FollowerTest, OtherObjectsDoNotConverge) {
  Start();
  Node n;
  n.id = "n1";
  ASSERT_TRUE(store_.Create({kNodesKind, "n1", ""}, {EncodeNodeMeta(n), {}}).ok());
  ASSERT_TRUE(reads_.WaitFresh().ok());
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(calls_, 0);
}

TEST_F(FollowerTest, AFailedConvergeIsRetriedAfterTheRetryPeriod) {
  fail_ = true;
  Start();
  TouchCluster();
  EXPECT_TRUE(testing::Eventually([&] { return calls_ == 1; }));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(calls_, 1);
  clock_.Advance(std::chrono::milliseconds(999));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(calls_, 1);
  fail_ = false;
  clock_.Advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(testing::Eventually([&] { return calls_ == 2; }));
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  clock_.Advance(std::chrono::seconds(5));  // succeeded: nothing more to do
  ASSERT_TRUE(clock_.AwaitWaiters(1));
  EXPECT_EQ(calls_, 2);
}

}  // namespace
}  // namespace capsule::unlockkeys
