// ManagerStatus.Leader as the elected leader writes it (node/manager_leadership.h), on the
// MemoryStore: the term's own write always happens (even when the flag is already set) and the
// read model has applied it on return; the other nodes' flags are cleared.
#include "node/manager_leadership.h"

#include <gtest/gtest.h>

#include "objects/objects.h"
#include "store/memory_store.h"
#include "store/read_model.h"

namespace capsule::node {
namespace {

class ManagerLeadershipTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(reads_.Start().ok()); }
  void TearDown() override { reads_.Stop(); }

  void AddNode(const std::string& id, bool leader) {
    Node n;
    n.id = id;
    n.role = "manager";
    n.leader = leader;
    ASSERT_TRUE(store_.Create({kNodesKind, id, ""}, {EncodeNodeMeta(n), {}}).ok());
    ASSERT_TRUE(reads_.WaitFresh().ok());
  }
  bool LeaderFlag(const std::string& id) { return reads_.NodeById(id)->object.leader; }

  store::MemoryStore store_;
  store::ReadModel reads_{store_};
  const std::function<bool()> never = [] { return false; };
};

TEST_F(ManagerLeadershipTest, MarkSelfLeaderSetsTheFlagAndTheReadModelHasTheWrite) {
  AddNode("m1", false);
  StatusOr<int64_t> rev = MarkSelfLeader(store_, reads_, "m1", never);
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GE(reads_.applied_revision(), *rev);
  EXPECT_TRUE(LeaderFlag("m1"));
}

TEST_F(ManagerLeadershipTest, MarkSelfLeaderWritesEvenWhenTheFlagIsAlreadySet) {
  AddNode("m1", true);
  const int64_t before = reads_.NodeById("m1")->mod_revision;
  StatusOr<int64_t> rev = MarkSelfLeader(store_, reads_, "m1", never);
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_GT(*rev, before);  // a new term's write, above the term's start
  EXPECT_EQ(reads_.NodeById("m1")->mod_revision, *rev);
}

TEST_F(ManagerLeadershipTest, MarkSelfLeaderWithoutItsNodeObjectEndsWhenStopped) {
  int calls = 0;
  StatusOr<int64_t> rev = MarkSelfLeader(store_, reads_, "m1", [&] { return ++calls > 3; });
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kCancelled);
}

TEST_F(ManagerLeadershipTest, ClearOtherLeadersClearsEveryOtherFlag) {
  AddNode("m1", true);
  AddNode("m2", true);
  AddNode("m3", false);
  ASSERT_TRUE(ClearOtherLeaders(store_, reads_, "m2", never).ok());
  ASSERT_TRUE(reads_.WaitFresh().ok());
  EXPECT_FALSE(LeaderFlag("m1"));
  EXPECT_TRUE(LeaderFlag("m2"));
  EXPECT_FALSE(LeaderFlag("m3"));
}

}  // namespace
}  // namespace capsule::node
