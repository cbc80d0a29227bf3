// The fake executor keeps the Executor contract the agent relies on.
#include "testing/fake_executor.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace capsule::testing {
namespace {

using agent::RunStatus;

agent::TaskRun MakeRun(const std::string& id, const std::string& image = "busybox:1") {
  agent::TaskRun run;
  run.task_id = id;
  run.image = image;
  return run;
}

TEST(FakeExecutorTest, PrepareStartStopRemove) {
  FakeClock clock;
  FakeExecutor executor(clock);
  SecretBytes pw = SecretBytes::CopyFrom(std::string_view("s3cr3t"));
  agent::TaskRun run = MakeRun("t1");
  run.secrets.push_back({"s1", "password", 2000, 3000, 0400, &pw});
  ASSERT_TRUE(executor.Prepare(run).ok());
  EXPECT_EQ(executor.Inspect("t1")->state, RunStatus::State::kCreated);
  EXPECT_EQ(executor.SecretData("t1", "password"), "s3cr3t");
  EXPECT_EQ(executor.Get("t1")->run.secrets.at(0).data, nullptr);
  EXPECT_EQ(executor.Get("t1")->run.secrets.at(0).uid, 2000u);
  ASSERT_TRUE(executor.Start("t1").ok());
  EXPECT_EQ(executor.Inspect("t1")->state, RunStatus::State::kRunning);
  EXPECT_EQ(executor.Inspect("t1")->started_at, clock.Now());
  ASSERT_TRUE(executor.Stop("t1").ok());
  EXPECT_EQ(executor.Inspect("t1")->exit_code, 143);
  ASSERT_TRUE(executor.Remove("t1").ok());
  EXPECT_FALSE(executor.Has("t1"));
  EXPECT_EQ(executor.calls(),
            (std::vector<std::string>{"prepare t1", "start t1", "stop t1", "remove t1"}));
  EXPECT_EQ(executor.Inspect("t1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(executor.Stop("t1").code(), StatusCode::kNotFound);
  EXPECT_TRUE(executor.Remove("t1").ok());  // idempotent
}

TEST(FakeExecutorTest, MissingImageIsDockersNotFound) {
  FakeClock clock;
  FakeExecutor executor(clock);
  executor.SetImageMissing("nosuch:1");
  Status s = executor.Prepare(MakeRun("t1", "nosuch:1"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "No such image: nosuch:1");
  EXPECT_FALSE(executor.Has("t1"));
}

TEST(FakeExecutorTest, PlantedTasksAreKnownAndExitWhenTold) {
  FakeClock clock;
  FakeExecutor executor(clock);
  RunStatus running;
  running.state = RunStatus::State::kRunning;
  executor.Put("t1", running);
  EXPECT_EQ(executor.Known(), std::vector<std::string>{"t1"});
  executor.Exit("t1", 3);
  EXPECT_EQ(executor.Inspect("t1")->state, RunStatus::State::kExited);
  EXPECT_EQ(executor.Inspect("t1")->exit_code, 3);
}

TEST(FakeExecutorTest, HooksSeePrepareWithTheDataAndStart) {
  FakeClock clock;
  std::vector<std::string> seen;
  FakeExecutor executor(clock,
                        {[&](const agent::TaskRun& run) {
                           seen.push_back("prepared " + run.task_id + " " +
                                          std::string(run.secrets.at(0).data->view()));
                         },
                         [&](const std::string& id) { seen.push_back("started " + id); }, nullptr});
  SecretBytes pw = SecretBytes::CopyFrom(std::string_view("x"));
  agent::TaskRun run = MakeRun("t1");
  run.secrets.push_back({"s1", "pw", 0, 0, 0444, &pw});
  ASSERT_TRUE(executor.Prepare(run).ok());
  ASSERT_TRUE(executor.Start("t1").ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"prepared t1 x", "started t1"}));
}

}  // namespace
}  // namespace capsule::testing
