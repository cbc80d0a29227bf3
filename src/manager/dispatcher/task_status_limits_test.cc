#include "manager/dispatcher/task_status_limits.h"

#include <gtest/gtest.h>

namespace capsule::dispatcher {
namespace {

TEST(TaskStatusLimitsTest, ShortTextIsUnchanged) {
  EXPECT_EQ(TruncateUtf8("started", 10), "started");
  EXPECT_EQ(TruncateUtf8("", 0), "");
}

TEST(TaskStatusLimitsTest, LongTextIsCutAndMarked) {
  std::string cut = TruncateUtf8(std::string(10000, 'x'), 100);
  EXPECT_EQ(cut.size(), 100u);
  EXPECT_EQ(cut.substr(97), "\u2026");
  EXPECT_EQ(cut.substr(0, 97), std::string(97, 'x'));
}

TEST(TaskStatusLimitsTest, NeverCutsInsideACharacter) {
  // "é" is two bytes; a cut at 8 would fall inside the fourth one.
  std::string text;
  for (int i = 0; i < 10; ++i) text += "\u00e9";
  std::string cut = TruncateUtf8(text, 10);
  EXPECT_LE(cut.size(), 10u);
  EXPECT_EQ(cut, "\u00e9\u00e9\u00e9\u2026");
}

TEST(TaskStatusLimitsTest, BoundedTaskStatusCutsMessageErrAndContainerId) {
  TaskStatus s;
  s.state = TaskState::kFailed;
  s.message = std::string(1 << 20, 'm');
  s.err = std::string(15 << 20, 'e');
  s.container = ContainerStatus{std::string(5000, 'c'), 1, 2};
  TaskStatus b = BoundedTaskStatus(s);
  EXPECT_LE(b.message.size(), kMaxTaskStatusMessageBytes);
  EXPECT_LE(b.err.size(), kMaxTaskStatusErrBytes);
  EXPECT_LE(b.container->container_id.size(), kMaxContainerIdBytes);
  EXPECT_EQ(b.state, TaskState::kFailed);
  EXPECT_EQ(b.container->exit_code, 2);
}

TEST(TaskStatusLimitsTest, SameReportIgnoresTheTimestampOnly) {
  TaskStatus a;
  a.state = TaskState::kRunning;
  a.message = "started";
  a.container = ContainerStatus{"c1", 10, 0};
  TaskStatus b = a;
  b.timestamp = a.timestamp + std::chrono::seconds(5);
  EXPECT_TRUE(SameReportedStatus(a, b));
  b.message = "started again";
  EXPECT_FALSE(SameReportedStatus(a, b));
  b = a;
  b.err = "boom";
  EXPECT_FALSE(SameReportedStatus(a, b));
  b = a;
  b.state = TaskState::kComplete;
  EXPECT_FALSE(SameReportedStatus(a, b));
  b = a;
  b.container->pid = 11;
  EXPECT_FALSE(SameReportedStatus(a, b));
  b = a;
  b.container.reset();
  EXPECT_FALSE(SameReportedStatus(a, b));
}

}  // namespace
}  // namespace capsule::dispatcher
