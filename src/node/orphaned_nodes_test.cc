// The leader's Down for nodes whose session manager died (node/orphaned_nodes.h), on the
// MemoryStore with a FakeClock: Down once the manager has been unreachable for the grace
// (counted from when the sweeper noticed), never for a node that reconnected to another
// manager, nor while its manager is reachable.
#include "node/orphaned_nodes.h"

#include <gtest/gtest.h>

#include <set>

#include "node/session_liveness.h"
#include "objects/objects.h"
#include "store/memory_store.h"
#include "testing/fake_clock.h"

namespace capsule::node {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kGrace{3000};

class OrphanedNodesTest : public ::testing::Test {
 protected:
  void AddNode(const std::string& id, const std::string& state, const std::string& manager) {
    Node n;
    n.id = id;
    n.role = "worker";
    n.state = state;
    n.session_manager = manager;
    ASSERT_TRUE(store_.Create({kNodesKind, id, ""}, {EncodeNodeMeta(n), {}}).ok());
  }
  Node Get(const std::string& id) {
    StatusOr<store::StoredRecord> rec = store_.Get(kNodesKind, id);
    EXPECT_TRUE(rec.ok());
    return *DecodeNodeMeta(rec->record.meta);
  }
  int Tick() {
    StatusOr<int> r = sweeper_.Tick();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : -1;
  }

  store::MemoryStore store_;
  testing::FakeClock clock_;
  std::set<std::string> dead_;  // managers that are unreachable
  OrphanedNodeSweeper sweeper_{store_,
                               clock_,
                               [this](const std::string& m) { return dead_.count(m) == 0; },
                               {"leader", kGrace}};
};

TEST_F(OrphanedNodesTest, ANodeWhoseSessionManagerDiedIsDownAfterTheGrace) {
  AddNode("w1", "ready", "mA");
  dead_.insert("mA");
  EXPECT_EQ(Tick(), 0);  // noticed now
  clock_.Advance(kGrace - milliseconds(1));
  EXPECT_EQ(Tick(), 0);
  EXPECT_EQ(Get("w1").state, "ready");
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(Tick(), 1);
  EXPECT_EQ(Get("w1").state, "down");
  EXPECT_EQ(Get("w1").session_manager, "");
  clock_.Advance(kGrace);
  EXPECT_EQ(Tick(), 0);  // down already: nothing more
}

TEST_F(OrphanedNodesTest, TheGraceCountsFromWhenTheSweeperNoticed) {
  AddNode("w1", "ready", "mA");
  clock_.Advance(kGrace * 10);  // the manager was alive all that time
  EXPECT_EQ(Tick(), 0);
  dead_.insert("mA");
  EXPECT_EQ(Tick(), 0);
  clock_.Advance(kGrace / 2);
  EXPECT_EQ(Tick(), 0);
  EXPECT_EQ(Get("w1").state, "ready");
}

TEST_F(OrphanedNodesTest, ANodeThatReconnectedToASurvivorIsUntouched) {
  AddNode("w1", "ready", "mA");
  dead_.insert("mA");
  EXPECT_EQ(Tick(), 0);
  // The node fails over to mB during the grace.
  StatusOr<bool> moved = RecordNodeLiveness(store_, clock_, "w1", "ready", "mB");
  ASSERT_TRUE(moved.ok() && *moved);
  clock_.Advance(kGrace * 2);
  EXPECT_EQ(Tick(), 0);
  EXPECT_EQ(Get("w1").state, "ready");
  EXPECT_EQ(Get("w1").session_manager, "mB");
}

TEST_F(OrphanedNodesTest, TheDownWriteChecksTheSessionManagerInItsTransaction) {
  AddNode("w1", "ready", "mB");  // reconnected after the sweeper read "mA"
  StatusOr<bool> w = RecordOrphanedNodeDown(store_, clock_, "w1", "mA");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE(*w);
  EXPECT_EQ(Get("w1").state, "ready");
  EXPECT_EQ(Get("w1").session_manager, "mB");
  w = RecordOrphanedNodeDown(store_, clock_, "gone", "mA");
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(*w);  // removed: no error
}

TEST_F(OrphanedNodesTest, ANodeWhoseSessionManagerIsAliveIsUntouched) {
  AddNode("w1", "ready", "mA");
  EXPECT_EQ(Tick(), 0);
  clock_.Advance(kGrace * 10);
  EXPECT_EQ(Tick(), 0);
  EXPECT_EQ(Get("w1").state, "ready");
  EXPECT_EQ(Get("w1").session_manager, "mA");
}

TEST_F(OrphanedNodesTest, AManagerThatCameBackDuringTheGraceStartsItOver) {
  AddNode("w1", "ready", "mA");
  dead_.insert("mA");
  EXPECT_EQ(Tick(), 0);
  clock_.Advance(kGrace - milliseconds(500));
  dead_.erase("mA");
  EXPECT_EQ(Tick(), 0);  // forgotten
  dead_.insert("mA");
  clock_.Advance(milliseconds(500));
  EXPECT_EQ(Tick(), 0);  // noticed anew
  EXPECT_EQ(Get("w1").state, "ready");
}

TEST_F(OrphanedNodesTest, TheLeadersOwnSessionsAndNodesWithoutAManagerAreLeftAlone) {
  AddNode("w1", "ready", "leader");
  AddNode("w2", "ready", "");
  AddNode("w3", "down", "mA");
  dead_ = {"leader", "", "mA"};
  EXPECT_EQ(Tick(), 0);
  clock_.Advance(kGrace * 2);
  EXPECT_EQ(Tick(), 0);
  EXPECT_EQ(Get("w1").state, "ready");
  EXPECT_EQ(Get("w2").state, "ready");
  EXPECT_EQ(Get("w3").state, "down");
}

TEST_F(OrphanedNodesTest, StartMarksDownOnItsOwnThread) {
  AddNode("w1", "ready", "mA");
  dead_.insert("mA");
  sweeper_.Start(milliseconds(1000));
  // One waiter: the thread waits for its first pass.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(clock_.AwaitWaiters(1));
    clock_.Advance(milliseconds(1000));
  }
  ASSERT_TRUE(clock_.AwaitWaiters(1));  // the pass after the grace is done
  sweeper_.Stop();
  EXPECT_EQ(Get("w1").state, "down");
}

}  // namespace
}  // namespace capsule::node
