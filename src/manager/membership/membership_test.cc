#include "manager/membership/membership.h"

#include <gtest/gtest.h>

#include <map>

#include "crypto/node_seal.h"
#include "crypto/random.h"
#include "manager/membership/fake_member_etcd.h"
#include "manager/membership/learner_sweeper.h"
#include "manager/membership/membership_service.h"
#include "store/fence.h"
#include "store/keys.h"
#include "testing/fake_clock.h"
#include "testing/status_macros.h"

namespace capsule::membership {
namespace {

using std::chrono_literals::operator""s;
using membership::testing::FakeMemberEtcd;

TEST(InitialClusterTest, NamesTheNewMemberAndKeepsTheOthers) {
  std::vector<etcd::Member> members = {{1, "m1", {"https://10.0.0.1:2380"}, {}, false},
                                       {7, "", {"https://10.0.0.2:2380"}, {}, true}};
  EXPECT_EQ(InitialCluster(members, 7, "node2"),
            "m1=https://10.0.0.1:2380,node2=https://10.0.0.2:2380");
}

TEST(MembershipTest, AddsTheJoiningManagerAsALearner) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  StatusOr<AddedLearner> added = m.AddLearner("node2", "https://127.0.0.2:2380");
  ASSERT_OK(added.status());
  ASSERT_NE(etcd.Get(added->member_id), nullptr);
  EXPECT_TRUE(etcd.Get(added->member_id)->is_learner);
  EXPECT_EQ(added->initial_cluster, "m1=https://127.0.0.1:2380,node2=https://127.0.0.2:2380");
}

// A manager that joined a moment ago is "unhealthy" to etcd for 5 s: the add is retried.
TEST(MembershipTest, RetriesWhileEtcdSaysUnhealthyCluster) {
  FakeMemberEtcd etcd;
  etcd.unhealthy_answers = 2;
  Membership m(etcd, std::chrono::seconds(5));
  ASSERT_OK(m.AddLearner("node2", "https://127.0.0.2:2380").status());
  EXPECT_EQ(etcd.unhealthy_answers, 0);
  EXPECT_EQ(etcd.List().size(), 2u);
}

// Re-adding the URL of a learner removed within the same second collides with the removed ID
// (etcd answers NotFound): the add is tried again in the next second.
TEST(MembershipTest, RetriesAnAddThatCollidesWithARemovedMembersId) {
  FakeMemberEtcd etcd;
  etcd.removed_id_answers = 1;
  Membership m(etcd);
  ASSERT_OK(m.AddLearner("node2", "https://127.0.0.2:2380").status());
  EXPECT_EQ(etcd.removed_id_answers, 0);
}

TEST(MembershipTest, GivesUpOnUnhealthyClusterAfterTheWait) {
  FakeMemberEtcd etcd;
  etcd.unhealthy_answers = 1000;
  Membership m(etcd, std::chrono::milliseconds(300));
  EXPECT_EQ(m.AddLearner("node2", "https://127.0.0.2:2380").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(etcd.List().size(), 1u);
}

TEST(MembershipTest, ReplacesAnUnfinishedLearnerAtTheSameUrl) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  StatusOr<AddedLearner> first = m.AddLearner("a", "https://127.0.0.2:2380");
  ASSERT_OK(first.status());
  StatusOr<AddedLearner> second = m.AddLearner("b", "https://127.0.0.2:2380");
  ASSERT_OK(second.status());
  EXPECT_EQ(etcd.Get(first->member_id), nullptr);
  EXPECT_EQ(etcd.List().size(), 2u);
}

TEST(MembershipTest, RefusesAUrlAVoterUses) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  EXPECT_EQ(m.AddLearner("x", "https://127.0.0.1:2380").status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(etcd.List().size(), 1u);
}

TEST(MembershipTest, SecondConcurrentJoinIsRefusedUntilTheFirstIsPromoted) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  StatusOr<AddedLearner> first = m.AddLearner("a", "https://127.0.0.2:2380");
  ASSERT_OK(first.status());
  EXPECT_EQ(m.AddLearner("b", "https://127.0.0.3:2380").status().code(),
            absl::StatusCode::kFailedPrecondition);
  etcd.in_sync = true;
  ASSERT_OK(m.Promote(first->member_id));
  ASSERT_OK(m.AddLearner("b", "https://127.0.0.3:2380").status());
}

TEST(MembershipTest, PromotionWaitsForCatchUpAndIsIdempotent) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  StatusOr<AddedLearner> added = m.AddLearner("a", "https://127.0.0.2:2380");
  ASSERT_OK(added.status());
  EXPECT_EQ(m.Promote(added->member_id).code(), absl::StatusCode::kFailedPrecondition);
  etcd.in_sync = true;
  ASSERT_OK(m.Promote(added->member_id));
  EXPECT_FALSE(etcd.Get(added->member_id)->is_learner);
  ASSERT_OK(m.Promote(added->member_id));  // a retried promotion
  EXPECT_EQ(m.Promote(0x999).code(), absl::StatusCode::kNotFound);
}

TEST(MembershipTest, RollbackRemovesALearnerButNeverAVoter) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  StatusOr<AddedLearner> added = m.AddLearner("a", "https://127.0.0.2:2380");
  ASSERT_OK(added.status());
  ASSERT_OK(m.RemoveLearner(added->member_id));
  EXPECT_EQ(etcd.Get(added->member_id), nullptr);
  ASSERT_OK(m.RemoveLearner(added->member_id));  // already gone
  EXPECT_EQ(m.RemoveLearner(1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(etcd.Get(1), nullptr);
}

// `who` wins the election as the elector does: creates the leader key. → its fence.
store::Fence Elect(FakeMemberEtcd& etcd, const std::string& who) {
  StatusOr<etcd::TxnResult> r =
      etcd.Txn({etcd::Compare{store::kLeaderKey, etcd::Compare::Target::kCreateRevision,
                              etcd::Compare::Result::kEqual, 0, ""}},
               {etcd::Op::Put(store::kLeaderKey, who)}, {});
  EXPECT_TRUE(r.ok() && r->succeeded);
  return {store::kLeaderKey, etcd.CreateRevision(store::kLeaderKey)};
}

// The leader's lease ended (it was paused) and `who` was elected. → the new fence.
store::Fence ElectAnother(FakeMemberEtcd& etcd, const std::string& who) {
  EXPECT_TRUE(etcd.Delete(store::kLeaderKey, "").ok());
  return Elect(etcd, who);
}

bool IsNotLeader(const Status& s) {
  return absl::IsFailedPrecondition(s) && s.message() == store::kNotLeaderMessage;
}

TEST(LearnerSweeperTest, RemovesALearnerNotPromotedWithinTheDeadline) {
  FakeMemberEtcd etcd;
  ::capsule::testing::FakeClock clock;
  LearnerSweeper sweeper(etcd, clock, Elect(etcd, "m1"), 60s);
  StatusOr<AddedLearner> added = Membership(etcd).AddLearner("a", "https://127.0.0.2:2380");
  ASSERT_OK(added.status());
  EXPECT_EQ(*sweeper.Tick(), 0);  // first seen now
  clock.Advance(59s);
  EXPECT_EQ(*sweeper.Tick(), 0);
  EXPECT_NE(etcd.Get(added->member_id), nullptr);
  clock.Advance(1s);
  EXPECT_EQ(*sweeper.Tick(), 1);
  EXPECT_EQ(etcd.Get(added->member_id), nullptr);
  EXPECT_EQ(etcd.List().size(), 1u);
}

TEST(LearnerSweeperTest, LeavesPromotedMembersAndVotersAlone) {
  FakeMemberEtcd etcd;
  ::capsule::testing::FakeClock clock;
  LearnerSweeper sweeper(etcd, clock, Elect(etcd, "m1"), 60s);
  Membership m(etcd);
  StatusOr<AddedLearner> added = m.AddLearner("a", "https://127.0.0.2:2380");
  ASSERT_OK(added.status());
  EXPECT_EQ(*sweeper.Tick(), 0);
  etcd.in_sync = true;
  ASSERT_OK(m.Promote(added->member_id));
  clock.Advance(120s);
  EXPECT_EQ(*sweeper.Tick(), 0);
  EXPECT_EQ(etcd.List().size(), 2u);
  EXPECT_EQ(etcd.removals, 0);
}

// A learner whose join never finished, overdue: the leader m1's sweeper saw it once and its
// deadline has passed, so the next pass removes it unless something stops it.
class OverdueLearnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(added_.status());
    ASSERT_EQ(*sweeper_.Tick(), 0);
    clock_.Advance(60s);
  }
  uint64_t id() const { return added_->member_id; }
  bool NoKeysUnder(const std::string& prefix) {
    return etcd_.Range(prefix, etcd::PrefixEnd(prefix))->kvs.empty();
  }

  FakeMemberEtcd etcd_;
  ::capsule::testing::FakeClock clock_;
  LearnerSweeper sweeper_{etcd_, clock_, Elect(etcd_, "m1"), 60s};
  StatusOr<AddedLearner> added_ = Membership(etcd_).AddLearner("a", "https://127.0.0.2:2380");
};

TEST_F(OverdueLearnerTest, AStaleLeaderRemovesNothing) {
  ElectAnother(etcd_, "m2");  // m1 was paused meanwhile
  StatusOr<int> r = sweeper_.Tick();
  EXPECT_TRUE(IsNotLeader(r.status())) << r.status();
  EXPECT_NE(etcd_.Get(id()), nullptr);
  EXPECT_EQ(etcd_.removals, 0);
  EXPECT_TRUE(NoKeysUnder(kLearnerRemovalPrefix));  // no claim either
}

TEST_F(OverdueLearnerTest, LeadershipLostAfterTheClaimRemovesNothingAndTheNextLeaderFinishes) {
  // The pass's own MemberList, then the claim, then the removal's MemberList: m1 is paused
  // right after its claim and m2 is elected.
  int lists = 0;
  store::Fence m2;
  etcd_.before_member_list = [&] {
    if (++lists == 2) m2 = ElectAnother(etcd_, "m2");
  };
  StatusOr<int> r = sweeper_.Tick();
  etcd_.before_member_list = nullptr;
  EXPECT_TRUE(IsNotLeader(r.status())) << r.status();
  EXPECT_NE(etcd_.Get(id()), nullptr);
  EXPECT_EQ(etcd_.removals, 0);

  // The claim made under m1's valid leadership stands: the learner cannot be promoted now...
  etcd_.in_sync = true;
  EXPECT_EQ(Membership(etcd_).Promote(id()).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(etcd_.Get(id())->is_learner);
  // ...and the new leader finishes the removal on its first pass, without a new deadline.
  LearnerSweeper current(etcd_, clock_, m2, 60s);
  EXPECT_EQ(*current.Tick(), 1);
  EXPECT_EQ(etcd_.Get(id()), nullptr);
  EXPECT_TRUE(NoKeysUnder(kLearnerRemovalPrefix));
}

// A MemberPromote that lands right after the claim (not through Membership::Promote, whose
// hold would have kept the claim off) is seen by the re-read: the voter is not removed.
TEST_F(OverdueLearnerTest, ALearnerPromotedRightAfterTheClaimIsNotRemoved) {
  int lists = 0;
  etcd_.in_sync = true;
  etcd_.before_member_list = [&] {
    if (++lists == 2) {
      EXPECT_TRUE(etcd_.MemberPromote(id()).ok());
    }
  };
  EXPECT_EQ(*sweeper_.Tick(), 0);
  etcd_.before_member_list = nullptr;
  EXPECT_NE(etcd_.Get(id()), nullptr);
  EXPECT_EQ(etcd_.removals, 0);
  EXPECT_EQ(*sweeper_.Tick(), 0);  // the moot claim is dropped
  EXPECT_TRUE(NoKeysUnder(kLearnerRemovalPrefix));
}

// A promotion under way (its hold written, MemberPromote not yet sent) keeps the sweeper's
// claim off: the learner becomes a voter and is not removed. Without the hold's compare in the
// claim, this sweep would remove the learner and the promotion would fail with NotFound.
TEST_F(OverdueLearnerTest, APromotionUnderWayIsNotCutShortByTheSweep) {
  etcd_.in_sync = true;
  int sweeps = 0;
  etcd_.before_member_promote = [&] {
    if (sweeps++ > 0) return;
    StatusOr<int> r = sweeper_.Tick();
    ASSERT_OK(r.status());
    EXPECT_EQ(*r, 0);
  };
  ASSERT_OK(Membership(etcd_).Promote(id()));
  etcd_.before_member_promote = nullptr;
  EXPECT_EQ(sweeps, 1);
  ASSERT_NE(etcd_.Get(id()), nullptr);
  EXPECT_FALSE(etcd_.Get(id())->is_learner);
  EXPECT_EQ(etcd_.removals, 0);
  // The hold ended with the promotion, and no claim was left.
  EXPECT_TRUE(NoKeysUnder(kLearnerPromotionPrefix));
  EXPECT_TRUE(NoKeysUnder(kLearnerRemovalPrefix));
}

// A hold whose promoter died stays until its lease ends; then the overdue learner is removed.
TEST_F(OverdueLearnerTest, AHoldLeftByADeadPromoterEndsWithItsLease) {
  StatusOr<int64_t> lease = etcd_.LeaseGrant(kPromotionHoldTtl);
  ASSERT_OK(lease.status());
  ASSERT_OK(etcd_.Txn({}, {etcd::Op::Put(LearnerPromotionKey(id()), "", *lease)}, {}).status());
  EXPECT_EQ(*sweeper_.Tick(), 0);  // held
  EXPECT_NE(etcd_.Get(id()), nullptr);
  ASSERT_OK(etcd_.LeaseRevoke(*lease));  // the TTL passed
  EXPECT_EQ(*sweeper_.Tick(), 1);
  EXPECT_EQ(etcd_.Get(id()), nullptr);
}

// Once the removal is claimed, a promotion writes no hold and is refused.
TEST(MembershipTest, AClaimedLearnerGetsNoPromotionHold) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  StatusOr<AddedLearner> added = m.AddLearner("a", "https://127.0.0.2:2380");
  ASSERT_OK(added.status());
  ASSERT_OK(etcd.Put(LearnerRemovalKey(added->member_id), "7").status());
  etcd.in_sync = true;
  Status s = m.Promote(added->member_id);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_TRUE(etcd.Get(added->member_id)->is_learner);
  EXPECT_TRUE(
      etcd.Range(kLearnerPromotionPrefix, etcd::PrefixEnd(kLearnerPromotionPrefix))->kvs.empty());
}

class MembershipServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(crypto::InitCrypto()); }
};

TEST_F(MembershipServiceTest, AddSealsTheKekForTheCallerOnly) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  ca::Authorizer authorizer("", "cluster1", nullptr, RealClock());
  const SecretBytes kek = SecretBytes::CopyFrom(std::string(32, 'k'));
  MembershipService service(m, authorizer, kek, "cluster1", nullptr);
  crypto::DeliveryKeyPair keys = crypto::NewDeliveryKeyPair();
  api::AddMemberRequest req;
  req.set_peer_url("https://127.0.0.2:2380");
  req.set_kek_delivery_public_key(keys.public_key);
  api::AddMemberResponse resp;
  ASSERT_OK(service.Add("node2", req, &resp));
  EXPECT_EQ(resp.sealed_kek().find(std::string(32, 'k')), std::string::npos);
  StatusOr<SecretBytes> opened =
      crypto::OpenFromDispatcher(keys, KekDeliveryAad("cluster1", "node2"), resp.sealed_kek());
  ASSERT_OK(opened.status());
  EXPECT_TRUE(opened->Equals(kek.span()));
  // Bound to the node: another node's associated data does not open it.
  EXPECT_FALSE(
      crypto::OpenFromDispatcher(keys, KekDeliveryAad("cluster1", "node3"), resp.sealed_kek())
          .ok());
  EXPECT_TRUE(etcd.Get(resp.member_id())->is_learner);
}

TEST_F(MembershipServiceTest, AddRefusesBadInputWithoutAddingAMember) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  ca::Authorizer authorizer("", "cluster1", nullptr, RealClock());
  const SecretBytes kek = SecretBytes::CopyFrom(std::string(32, 'k'));
  MembershipService service(m, authorizer, kek, "cluster1", nullptr);
  crypto::DeliveryKeyPair keys = crypto::NewDeliveryKeyPair();
  for (const std::string url :
       {"http://127.0.0.2:2380", "https://0.0.0.0:2380", "https://host:2380", "https://127.0.0.2",
        "https://127.0.0.2:99999", "https://[::1]:2380x"}) {
    api::AddMemberRequest req;
    req.set_peer_url(url);
    req.set_kek_delivery_public_key(keys.public_key);
    api::AddMemberResponse resp;
    EXPECT_EQ(service.Add("n", req, &resp).code(), absl::StatusCode::kInvalidArgument) << url;
  }
  api::AddMemberRequest zero_key;
  zero_key.set_peer_url("https://127.0.0.2:2380");
  zero_key.set_kek_delivery_public_key(std::string(32, '\0'));
  api::AddMemberResponse resp;
  EXPECT_EQ(service.Add("n", zero_key, &resp).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(etcd.List().size(), 1u);
}

TEST_F(MembershipServiceTest, AbortRemovesTheLearnerAndTheNodeObject) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  ca::Authorizer authorizer("", "cluster1", nullptr, RealClock());
  const SecretBytes kek = SecretBytes::CopyFrom(std::string(32, 'k'));
  std::vector<std::string> forgotten;
  MembershipService service(m, authorizer, kek, "cluster1", [&](const std::string& id) {
    forgotten.push_back(id);
    return absl::OkStatus();
  });
  StatusOr<AddedLearner> added = m.AddLearner("node2", "https://127.0.0.2:2380");
  ASSERT_OK(added.status());
  ASSERT_OK(service.Abort("node2", added->member_id));
  EXPECT_EQ(etcd.List().size(), 1u);
  EXPECT_EQ(forgotten, std::vector<std::string>{"node2"});
  // Another voter is never removed by a rollback.
  EXPECT_EQ(service.Abort("node2", 1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(etcd.List().size(), 1u);
}

TEST(MembershipTest, RollbackAfterPromotionRemovesOnlyTheCallersOwnMember) {
  FakeMemberEtcd etcd;
  Membership m(etcd);
  StatusOr<AddedLearner> added = m.AddLearner("node2", "https://127.0.0.2:2380");
  ASSERT_OK(added.status());
  etcd.in_sync = true;
  ASSERT_OK(m.Promote(added->member_id));
  etcd.SetName(added->member_id, "node2");  // a started member has its name
  EXPECT_EQ(m.RemoveJoining(added->member_id, "node3").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(m.RemoveJoining(1, "node2").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(m.RemoveJoining(added->member_id, "node2"));
  EXPECT_EQ(etcd.List().size(), 1u);
}

}  // namespace
}  // namespace capsule::membership
