// The leader's role reconciler (node/role_reconciler.h) on the MemoryStore with etcd's
// membership faked (membership::testing::FakeMemberEtcd): a promotion completes only once the
// node's member is a voter; a demotion removes the member (after the quorum check made again)
// and only then writes role = worker; a demoted leader steps down and writes nothing.
#include "node/role_reconciler.h"

#include <gtest/gtest.h>

#include <set>

#include "manager/membership/fake_member_etcd.h"
#include "objects/objects.h"
#include "store/memory_store.h"
#include "testing/fake_clock.h"

namespace capsule::node {
namespace {

class RoleReconcilerTest : public ::testing::Test {
 protected:
  // m1 (this manager, member 1 in the fake) is a manager node.
  RoleReconcilerTest() { AddNode("m1", "manager", "manager"); }

  void AddNode(const std::string& id, const std::string& role, const std::string& desired) {
    Node n;
    n.id = id;
    n.role = role;
    n.desired_role = desired;
    if (role == "manager") n.manager_addr = "127.0.0.1:2377";
    ASSERT_TRUE(store_.Create({kNodesKind, id, ""}, {EncodeNodeMeta(n), {}}).ok());
  }
  void SetDesired(const std::string& id, const std::string& desired) {
    StatusOr<store::StoredRecord> rec = store_.Get(kNodesKind, id);
    ASSERT_TRUE(rec.ok());
    Node n = *DecodeNodeMeta(rec->record.meta);
    n.desired_role = desired;
    ASSERT_TRUE(
        store_.Update({kNodesKind, id, ""}, rec->mod_revision, {EncodeNodeMeta(n), {}}).ok());
  }
  // A voting member named after `id`. → its member ID.
  uint64_t AddVoter(const std::string& id) {
    StatusOr<etcd::MemberAddResult> added =
        etcd_.MemberAdd({"https://127.0.0.9:2380"}, /*is_learner=*/false);
    EXPECT_TRUE(added.ok());
    etcd_.SetName(added->member.id, id);
    return added->member.id;
  }
  Node Get(const std::string& id) {
    StatusOr<store::StoredRecord> rec = store_.Get(kNodesKind, id);
    EXPECT_TRUE(rec.ok());
    return *DecodeNodeMeta(rec->record.meta);
  }
  std::vector<Node> Nodes() {
    std::vector<Node> out;
    StatusOr<store::MetaSnapshot> s = store_.ListMeta();
    EXPECT_TRUE(s.ok());
    for (const store::ObjectMeta& o : s->objects) {
      if (o.kind == kNodesKind) out.push_back(*DecodeNodeMeta(o.meta));
    }
    return out;
  }
  StatusOr<int> Tick() { return reconciler_.Tick(); }

  store::MemoryStore store_;
  membership::testing::FakeMemberEtcd etcd_;
  std::set<std::string> unreachable_;
  int step_downs_ = 0;
  testing::FakeClock clock_{FromUnixNanos(1'700'000'000'000'000'000)};
  RoleReconciler reconciler_{{store_, etcd_, [this] { return Nodes(); },
                              [this](const std::string& id) { return unreachable_.count(id) == 0; },
                              [this] { ++step_downs_; }, "m1",
                              [this]() -> Status {
                                if (lost_leadership_) {
                                  return absl::FailedPreconditionError("no longer the leader");
                                }
                                return absl::OkStatus();
                              }},
                             clock_};
  bool lost_leadership_ = false;
};

TEST_F(RoleReconcilerTest, NothingToDoWhenEveryRoleIsTheDesiredOne) {
  AddNode("w1", "worker", "worker");
  StatusOr<int> r = Tick();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 0);
}

TEST_F(RoleReconcilerTest, PromotionWaitsForTheNodesVotingMember) {
  AddNode("w1", "worker", "manager");
  ASSERT_EQ(*Tick(), 0);
  EXPECT_EQ(Get("w1").role, "worker");  // no member yet: still a worker

  StatusOr<etcd::MemberAddResult> learner =
      etcd_.MemberAdd({"https://127.0.0.9:2380"}, /*is_learner=*/true);
  ASSERT_TRUE(learner.ok());
  etcd_.SetName(learner->member.id, "w1");
  ASSERT_EQ(*Tick(), 0);
  EXPECT_EQ(Get("w1").role, "worker");  // a learner is still joining

  etcd_.in_sync = true;
  ASSERT_TRUE(etcd_.MemberPromote(learner->member.id).ok());
  ASSERT_EQ(*Tick(), 1);
  EXPECT_EQ(Get("w1").role, "manager");
  EXPECT_EQ(*Tick(), 0);  // done
}

TEST_F(RoleReconcilerTest, DemotionRemovesTheMemberThenWritesWorker) {
  AddNode("m2", "manager", "manager");
  AddNode("m3", "manager", "manager");
  const uint64_t m2 = AddVoter("m2");
  AddVoter("m3");
  SetDesired("m2", "worker");
  ASSERT_EQ(*Tick(), 1);
  EXPECT_EQ(etcd_.Get(m2), nullptr);
  const Node n = Get("m2");
  EXPECT_EQ(n.role, "worker");
  EXPECT_EQ(n.desired_role, "worker");
  EXPECT_EQ(n.manager_addr, "");  // no ManagerStatus any more
  EXPECT_EQ(etcd_.removals, 1);
}

TEST_F(RoleReconcilerTest, ALeaderThatLostItsLeadershipRemovesNoMember) {
  // Paused before the removal and resumed after another manager was elected.
  AddNode("m2", "manager", "manager");
  AddNode("m3", "manager", "manager");
  const uint64_t m2 = AddVoter("m2");
  AddVoter("m3");
  SetDesired("m2", "worker");
  lost_leadership_ = true;
  EXPECT_FALSE(Tick().ok());
  EXPECT_NE(etcd_.Get(m2), nullptr);
  EXPECT_EQ(etcd_.removals, 0);
  EXPECT_EQ(Get("m2").role, "manager");
  lost_leadership_ = false;  // control: the same pass as the leader removes it
  ASSERT_EQ(*Tick(), 1);
  EXPECT_EQ(etcd_.Get(m2), nullptr);
}

TEST_F(RoleReconcilerTest, DemotionThatWouldLoseTheQuorumNowWaits) {
  AddNode("m2", "manager", "manager");
  AddNode("m3", "manager", "manager");
  const uint64_t m2 = AddVoter("m2");
  AddVoter("m3");
  SetDesired("m2", "worker");
  unreachable_ = {"m3"};  // m3 went away after the guards let the demotion through
  ASSERT_EQ(*Tick(), 0);
  EXPECT_NE(etcd_.Get(m2), nullptr);
  EXPECT_EQ(Get("m2").role, "manager");

  unreachable_.clear();  // back: the demotion goes on
  ASSERT_EQ(*Tick(), 1);
  EXPECT_EQ(etcd_.Get(m2), nullptr);
  EXPECT_EQ(Get("m2").role, "worker");
}

TEST_F(RoleReconcilerTest, DemotedLeaderStepsDownFirstAndWritesNothing) {
  AddNode("m2", "manager", "manager");
  AddVoter("m2");
  SetDesired("m1", "worker");
  StatusOr<int> r = Tick();
  EXPECT_TRUE(absl::IsAborted(r.status())) << r.status();
  EXPECT_EQ(step_downs_, 1);
  EXPECT_NE(etcd_.Get(1), nullptr);  // its member stays for the next leader to remove
  EXPECT_EQ(Get("m1").role, "manager");
  EXPECT_EQ(etcd_.removals, 0);
}

TEST_F(RoleReconcilerTest, DemotionOfAManagerWithoutMemberOnlyWritesTheRole) {
  AddNode("m2", "manager", "worker");  // e.g. its member was removed by an earlier leader
  ASSERT_EQ(*Tick(), 1);
  EXPECT_EQ(Get("m2").role, "worker");
  EXPECT_EQ(etcd_.removals, 0);
}

TEST_F(RoleReconcilerTest, PromotionCancelledBeforeItCompletedWritesNothing) {
  AddNode("w1", "worker", "worker");
  AddVoter("w1");  // a member, but the desired role is worker again
  ASSERT_EQ(*Tick(), 0);
  EXPECT_EQ(Get("w1").role, "worker");
}

}  // namespace
}  // namespace capsule::node
