// The promotion hold and the removal claim (membership.h) against a real etcd member: the
// compares on absent keys, the lease the hold is attached to, and its end, as etcd 3.4 does
// them (the fake in fake_member_etcd.h models them; these tests check the model).
#include <gtest/gtest.h>

#include "manager/membership/learner_sweeper.h"
#include "manager/membership/membership.h"
#include "store/etcd/etcd_test_env.h"
#include "store/keys.h"
#include "testing/fake_clock.h"

namespace capsule::membership {
namespace {

using etcd::testing::EtcdTest;
using etcd::testing::FreePeerUrl;
using namespace std::chrono_literals;

class MembershipEtcdTest : public EtcdTest {
 protected:
  // A learner that never starts: a join whose node died after AddMember.
  uint64_t AddLearner() {
    StatusOr<AddedLearner> added = Membership(*client_).AddLearner("joiner", FreePeerUrl());
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() ? added->member_id : 0;
  }
  bool IsMember(uint64_t id) {
    StatusOr<std::vector<etcd::Member>> members = client_->MemberList();
    EXPECT_TRUE(members.ok()) << members.status();
    for (const etcd::Member& m : members.value_or(std::vector<etcd::Member>{})) {
      if (m.id == id) return true;
    }
    return false;
  }
  size_t KeysUnder(const std::string& prefix) {
    StatusOr<etcd::RangeResult> r = client_->Range(prefix, etcd::PrefixEnd(prefix));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->kvs.size() : 0;
  }
  // This member's manager is the leader: the election key, as the elector writes it.
  store::Fence Lead() {
    StatusOr<int64_t> rev = client_->Put(store::kLeaderKey, "m1");
    EXPECT_TRUE(rev.ok()) << rev.status();
    return store::Fence{store::kLeaderKey, rev.value_or(0)};
  }
};

TEST_F(MembershipEtcdTest, APromotionThatFailsLeavesNoHold) {
  const uint64_t id = AddLearner();
  // The learner never started, so etcd refuses: not in sync with the leader.
  Status s = Membership(*client_).Promote(id);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_EQ(KeysUnder(kLearnerPromotionPrefix), 0u);
}

TEST_F(MembershipEtcdTest, AClaimedLearnerGetsNoHoldAndIsNotPromoted) {
  const uint64_t id = AddLearner();
  ASSERT_TRUE(client_->Put(LearnerRemovalKey(id), "1").ok());
  Status s = Membership(*client_).Promote(id);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("is being removed"), std::string::npos) << s;
  EXPECT_EQ(KeysUnder(kLearnerPromotionPrefix), 0u);
}

TEST_F(MembershipEtcdTest, AHoldKeepsTheSweeperOffUntilItsLeaseEnds) {
  const store::Fence fence = Lead();
  ::capsule::testing::FakeClock clock;
  LearnerSweeper sweeper(*client_, clock, fence, 60s);
  const uint64_t id = AddLearner();
  ASSERT_EQ(*sweeper.Tick(), 0);
  clock.Advance(60s);
  StatusOr<int64_t> lease = client_->LeaseGrant(kPromotionHoldTtl);
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(client_->Txn({}, {etcd::Op::Put(LearnerPromotionKey(id), "", *lease)}, {}).ok());
  StatusOr<int> held = sweeper.Tick();
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(*held, 0);
  EXPECT_TRUE(IsMember(id));
  EXPECT_EQ(KeysUnder(kLearnerRemovalPrefix), 0u);  // no claim was written
  ASSERT_TRUE(client_->LeaseRevoke(*lease).ok());   // as when its TTL passes
  EXPECT_EQ(KeysUnder(kLearnerPromotionPrefix), 0u);
  StatusOr<int> removed = sweeper.Tick();
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(IsMember(id));
  EXPECT_EQ(KeysUnder(kLearnerRemovalPrefix), 0u);
}

}  // namespace
}  // namespace capsule::membership
