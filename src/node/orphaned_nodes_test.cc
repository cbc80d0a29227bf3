// The leader's Down for nodes whose session manager died (node/orphaned_nodes.h), on the
// MemoryStore with a FakeClock: Down once the manager has been unreachable for the grace
// (counted from when the sweeper noticed), never for a node that reconnected to another
// manager, nor while its manager is reachable. And the term's one-time reconciliation of the
// nodes no dispatcher judges, through a fenced view: a stale leader writes nothing.
#include "node/orphaned_nodes.h"

#include <gtest/gtest.h>

#include <set>

#include "node/session_liveness.h"
#include "objects/objects.h"
#include "store/fence.h"
#include "store/memory_store.h"
#include "testing/fake_clock.h"

namespace capsule::node {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kGrace{3000};

class OrphanedNodesTest : public ::testing::Test {
 protected:
  void AddNode(const std::string& id, const std::string& state, const std::string& manager,
               const std::string& role = "worker") {
    Node n;
    n.id = id;
    n.role = role;
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
                               {"leader", kGrace, nullptr}};
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

// The leader's fenced store as the term sees it: while `leading` is false (the fence failed)
// every write is refused with kNotLeaderMessage and writes nothing.
class FencedView : public store::Store {
 public:
  FencedView(store::Store& store, const bool& leading) : store_(store), leading_(leading) {}
  StatusOr<int64_t> Create(const store::ObjectRef& ref, const store::Record& record) override {
    if (!leading_) return NotLeader();
    return store_.Create(ref, record);
  }
  StatusOr<int64_t> Update(const store::ObjectRef& ref, int64_t expected_revision,
                           const store::Record& record) override {
    if (!leading_) return NotLeader();
    return store_.Update(ref, expected_revision, record);
  }
  StatusOr<int64_t> Delete(const store::ObjectRef& ref, int64_t expected_revision) override {
    if (!leading_) return NotLeader();
    return store_.Delete(ref, expected_revision);
  }
  StatusOr<store::StoredRecord> Get(const std::string& kind, const std::string& id) override {
    return store_.Get(kind, id);
  }
  StatusOr<store::MetaSnapshot> ListMeta() override { return store_.ListMeta(); }
  StatusOr<std::unique_ptr<store::WatchHandle>> WatchObjects(
      int64_t start_revision, store::StoreWatchCallbacks callbacks) override {
    return store_.WatchObjects(start_revision, std::move(callbacks));
  }
  int64_t LastWrittenRevision() const override { return store_.LastWrittenRevision(); }

 private:
  static Status NotLeader() { return absl::FailedPreconditionError(store::kNotLeaderMessage); }
  store::Store& store_;
  const bool& leading_;
};

class TermReconciliationTest : public OrphanedNodesTest {
 protected:
  StatusOr<int> TermTick() { return term_.Tick(); }

  bool leading_ = true;
  FencedView fenced_{store_, leading_};
  bool serving_ = true;
  std::set<std::string> sessions_;  // nodes with a session with this (the leader's) dispatcher
  std::function<void()> on_sessions_;
  OrphanedNodeSweeper term_{fenced_,
                            clock_,
                            [this](const std::string& m) { return dead_.count(m) == 0; },
                            {"leader", kGrace, [this]() -> StatusOr<std::set<std::string>> {
                               if (!serving_) return absl::UnavailableError("not serving yet");
                               std::set<std::string> now = sessions_;
                               if (on_sessions_) on_sessions_();
                               return now;
                             }}};
};

TEST_F(TermReconciliationTest, NodesNoDispatcherJudgesAreDownOnceAfterTheGrace) {
  AddNode("stale", "ready", "leader");  // a session of this manager's previous run
  AddNode("nobody", "ready", "");
  AddNode("unknown", "unknown", "");
  AddNode("here", "ready", "leader");   // its session is with this dispatcher now
  AddNode("elsewhere", "ready", "mB");  // mB judges it
  AddNode("m2", "ready", "", "manager");
  sessions_ = {"here"};
  EXPECT_EQ(*TermTick(), 0);
  clock_.Advance(kGrace - milliseconds(1));
  EXPECT_EQ(*TermTick(), 0);
  EXPECT_EQ(Get("stale").state, "ready");
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(*TermTick(), 3);
  EXPECT_EQ(Get("stale").state, "down");
  EXPECT_EQ(Get("stale").session_manager, "");
  EXPECT_EQ(Get("nobody").state, "down");
  EXPECT_EQ(Get("unknown").state, "down");
  EXPECT_EQ(Get("here").state, "ready");
  EXPECT_EQ(Get("elsewhere").state, "ready");
  EXPECT_EQ(Get("m2").state, "ready");
  // Once per term.
  StatusOr<bool> ready = RecordNodeLiveness(store_, clock_, "nobody", "ready", "");
  ASSERT_TRUE(ready.ok() && *ready);
  clock_.Advance(kGrace * 2);
  EXPECT_EQ(*TermTick(), 0);
  EXPECT_EQ(Get("nobody").state, "ready");
}

TEST_F(TermReconciliationTest, TheGraceCountsFromWhenTheSessionsCouldBeRead) {
  AddNode("stale", "ready", "leader");
  serving_ = false;
  EXPECT_EQ(*TermTick(), 0);
  clock_.Advance(kGrace * 3);
  EXPECT_EQ(*TermTick(), 0);
  serving_ = true;
  EXPECT_EQ(*TermTick(), 0);  // counted from now
  clock_.Advance(kGrace - milliseconds(1));
  EXPECT_EQ(*TermTick(), 0);
  EXPECT_EQ(Get("stale").state, "ready");
  clock_.Advance(milliseconds(1));
  EXPECT_EQ(*TermTick(), 1);
}

TEST_F(TermReconciliationTest, AStaleLeaderMarksNothingDown) {
  AddNode("stale", "ready", "leader");
  AddNode("nobody", "ready", "");
  EXPECT_EQ(*TermTick(), 0);
  clock_.Advance(kGrace);
  leading_ = false;  // paused past its lease; another manager leads now
  StatusOr<int> r = TermTick();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.status().message(), store::kNotLeaderMessage);
  EXPECT_EQ(Get("stale").state, "ready");
  EXPECT_EQ(Get("nobody").state, "ready");
}

TEST_F(TermReconciliationTest, ANodeThatOpenedASessionDuringTheDownIsReadyAgain) {
  AddNode("stale", "ready", "leader");
  EXPECT_EQ(*TermTick(), 0);
  clock_.Advance(kGrace);
  // Its session opens right after the reconciliation read the sessions; its own Ready wrote
  // nothing (it was Ready with this session manager already).
  on_sessions_ = [this] { sessions_.insert("stale"); };
  EXPECT_EQ(*TermTick(), 0);
  EXPECT_EQ(Get("stale").state, "ready");
  EXPECT_EQ(Get("stale").session_manager, "leader");
}

}  // namespace
}  // namespace capsule::node
