// Node liveness with a dispatcher on every manager (node/session_liveness.h), on the
// MemoryStore: Ready stamps the session's manager, Down is written only by that manager (or
// when none is known), so a manager that lost a node to another manager cannot mark it Down.
#include "node/session_liveness.h"

#include <gtest/gtest.h>

#include "objects/objects.h"
#include "store/memory_store.h"
#include "testing/fake_clock.h"

namespace capsule::node {
namespace {

class SessionLivenessTest : public ::testing::Test {
 protected:
  void AddNode(const std::string& id, const std::string& state) {
    Node n;
    n.id = id;
    n.role = "worker";
    n.state = state;
    ASSERT_TRUE(store_.Create({kNodesKind, id, ""}, {EncodeNodeMeta(n), {}}).ok());
  }
  Node Get(const std::string& id) {
    StatusOr<store::StoredRecord> rec = store_.Get(kNodesKind, id);
    EXPECT_TRUE(rec.ok());
    return *DecodeNodeMeta(rec->record.meta);
  }
  bool Record(const std::string& id, const std::string& state, const std::string& self) {
    StatusOr<bool> w = RecordNodeLiveness(store_, clock_, id, state, self);
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() && *w;
  }

  store::MemoryStore store_;
  testing::FakeClock clock_;
};

TEST_F(SessionLivenessTest, ReadyNamesTheSessionsManager) {
  AddNode("w1", "unknown");
  EXPECT_TRUE(Record("w1", "ready", "mA"));
  EXPECT_EQ(Get("w1").state, "ready");
  EXPECT_EQ(Get("w1").session_manager, "mA");
  EXPECT_FALSE(Record("w1", "ready", "mA"));  // nothing new: no write
}

TEST_F(SessionLivenessTest, ANodeThatMovedIsRestampedThoughAlreadyReady) {
  AddNode("w1", "unknown");
  Record("w1", "ready", "mA");
  EXPECT_TRUE(Record("w1", "ready", "mB"));
  EXPECT_EQ(Get("w1").session_manager, "mB");
}

TEST_F(SessionLivenessTest, TheManagerTheNodeLeftCannotMarkItDown) {
  AddNode("w1", "unknown");
  Record("w1", "ready", "mA");
  Record("w1", "ready", "mB");               // the node failed over to mB
  EXPECT_FALSE(Record("w1", "down", "mA"));  // mA's heartbeat expiry comes later
  EXPECT_EQ(Get("w1").state, "ready");
  EXPECT_EQ(Get("w1").session_manager, "mB");
}

TEST_F(SessionLivenessTest, TheSessionsManagerOrNoneKnownMarksItDown) {
  AddNode("w1", "unknown");
  Record("w1", "ready", "mB");
  EXPECT_TRUE(Record("w1", "down", "mB"));
  EXPECT_EQ(Get("w1").state, "down");
  EXPECT_EQ(Get("w1").session_manager, "");
  AddNode("w2", "ready");  // recorded before session managers were (no name)
  EXPECT_TRUE(Record("w2", "down", "mA"));
  EXPECT_EQ(Get("w2").state, "down");
}

TEST_F(SessionLivenessTest, ARemovedNodeIsNoError) { EXPECT_FALSE(Record("gone", "ready", "mA")); }

}  // namespace
}  // namespace capsule::node
