// StoreTaskStatusStore on the MemoryStore: what a worker's status report writes.
#include "node/dispatcher_backends.h"

#include <gtest/gtest.h>

#include "objects/service_codec.h"
#include "store/memory_store.h"

namespace capsule::node {
namespace {

class StoreTaskStatusStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Task t;
    t.id = "t1";
    t.service_id = "s1";
    t.node_id = "n1";
    t.status.state = TaskState::kAssigned;
    ASSERT_TRUE(store_.Create({kTasksKind, t.id, ""}, {EncodeTaskMeta(t), {}}).ok());
  }
  Task Stored() {
    auto rec = store_.Get(kTasksKind, "t1");
    EXPECT_TRUE(rec.ok());
    auto t = DecodeTaskMeta(rec->record.meta);
    EXPECT_TRUE(t.ok());
    return *t;
  }
  static TaskStatus Running(std::string message, int seconds) {
    TaskStatus s;
    s.state = TaskState::kRunning;
    s.message = std::move(message);
    s.timestamp = TimePoint(std::chrono::seconds(1800000000 + seconds));
    s.container = ContainerStatus{"c1", 42, 0};
    return s;
  }
  store::MemoryStore store_;
  StoreTaskStatusStore statuses_{store_};
};

TEST_F(StoreTaskStatusStoreTest, ANewStatusIsWritten) {
  int64_t before = store_.LastWrittenRevision();
  ASSERT_TRUE(statuses_.UpdateTaskStatus("n1", "t1", Running("started", 1)).ok());
  EXPECT_GT(store_.LastWrittenRevision(), before);
  EXPECT_EQ(Stored().status.state, TaskState::kRunning);
  EXPECT_EQ(Stored().status.message, "started");
}

TEST_F(StoreTaskStatusStoreTest, TheSameStatusAgainWritesNothing) {
  ASSERT_TRUE(statuses_.UpdateTaskStatus("n1", "t1", Running("started", 1)).ok());
  int64_t after_first = store_.LastWrittenRevision();
  TimePoint updated = Stored().updated_at;
  // A worker repeating itself (a later timestamp only), a thousand times.
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(statuses_.UpdateTaskStatus("n1", "t1", Running("started", 2 + i)).ok());
  }
  EXPECT_EQ(store_.LastWrittenRevision(), after_first);
  EXPECT_EQ(Stored().updated_at, updated);
}

TEST_F(StoreTaskStatusStoreTest, ADifferentMessageInTheSameStateIsWritten) {
  // Positive control for the test above: the store does see changes within a state.
  ASSERT_TRUE(statuses_.UpdateTaskStatus("n1", "t1", Running("started", 1)).ok());
  int64_t after_first = store_.LastWrittenRevision();
  ASSERT_TRUE(statuses_.UpdateTaskStatus("n1", "t1", Running("still running", 2)).ok());
  EXPECT_GT(store_.LastWrittenRevision(), after_first);
  EXPECT_EQ(Stored().status.message, "still running");
}

TEST_F(StoreTaskStatusStoreTest, RulesStillApplyToAnUnchangedReport) {
  TaskStatus s = Running("started", 1);
  EXPECT_EQ(statuses_.UpdateTaskStatus("n2", "t1", s).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(statuses_.UpdateTaskStatus("n1", "gone", s).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace capsule::node
