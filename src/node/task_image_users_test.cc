// TaskImageUsers: what the executor has on disk, as the image store's users.
#include "node/task_image_users.h"

#include <gtest/gtest.h>

#include <map>

namespace capsule::node {
namespace {

using agent::RunStatus;

// An executor that only answers questions about tasks it was given.
class TableExecutor : public agent::Executor {
 public:
  struct Task {
    std::string image;  // "" → ImageOf NotFound (e.g. removed meanwhile)
    RunStatus::State state = RunStatus::State::kCreated;
  };
  Status Prepare(const agent::TaskRun&) override { return absl::UnimplementedError("table"); }
  Status Start(const std::string&) override { return absl::UnimplementedError("table"); }
  StatusOr<RunStatus> Inspect(const std::string& id) const override {
    auto it = tasks.find(id);
    if (it == tasks.end()) return absl::NotFoundError("no such task: " + id);
    RunStatus rs;
    rs.state = it->second.state;
    rs.container_id = id;
    return rs;
  }
  Status Stop(const std::string&) override { return absl::UnimplementedError("table"); }
  Status Remove(const std::string&) override { return absl::UnimplementedError("table"); }
  Status RemoveLogs(const std::string&) override { return absl::UnimplementedError("table"); }
  std::vector<std::string> Known() const override {
    std::vector<std::string> ids;
    for (const auto& [id, t] : tasks) ids.push_back(id);
    ids.push_back("gone");  // listed, then removed before it is asked about
    return ids;
  }
  StatusOr<std::string> ImageOf(const std::string& id) const override {
    auto it = tasks.find(id);
    if (it == tasks.end() || it->second.image.empty()) return absl::NotFoundError(id);
    return it->second.image;
  }
  std::map<std::string, Task> tasks;
};

TEST(TaskImageUsersTest, NoTaskUsesAnImageBeforeTheExecutorIsAttached) {
  TaskImageUsers users;
  EXPECT_TRUE(users.Uses().empty());
}

TEST(TaskImageUsersTest, EveryTaskOnDiskWithItsImageAndContainerRunningOnesFirst) {
  TableExecutor executor;
  executor.tasks["a"] = {"sha256:aa", RunStatus::State::kExited};
  executor.tasks["b"] = {"sha256:bb", RunStatus::State::kRunning};
  executor.tasks["c"] = {"app:1", RunStatus::State::kCreated};
  executor.tasks["d"] = {"", RunStatus::State::kRunning};
  TaskImageUsers users;
  users.Attach(executor);
  const std::vector<agent::ImageUse> uses = users.Uses();
  ASSERT_EQ(uses.size(), 3u);
  EXPECT_EQ(uses[0].image, "sha256:bb");
  EXPECT_EQ(uses[0].container_id, "b");
  EXPECT_TRUE(uses[0].running);
  EXPECT_EQ(uses[1].image, "sha256:aa");
  EXPECT_FALSE(uses[1].running);
  EXPECT_EQ(uses[2].image, "app:1");
  EXPECT_EQ(uses[2].container_id, "c");
  EXPECT_FALSE(uses[2].running);
}

}  // namespace
}  // namespace capsule::node
