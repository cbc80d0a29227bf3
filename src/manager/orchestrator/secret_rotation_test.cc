// Secret versions through the orchestrator (objects/secret_versions.h): a task mounting another
// version than its service pins is dirty, and a rotation (a new pin) rolls every task through
// the ordinary updater — start-first keeps a task running throughout — while tasks made before
// versions existed count as version 1.
#include <gtest/gtest.h>

#include "manager/orchestrator/fake_cluster.h"
#include "manager/orchestrator/planner.h"
#include "manager/orchestrator/tasks.h"
#include "objects/secret_versions.h"

namespace capsule::orchestrator {
namespace {

using ::capsule::testing::FakeClock;
using testing::FakeCluster;
using testing::ReadyNode;
using testing::Replicated;

constexpr char kSecret[] = "sec1";

ServiceSpec WithSecret(ServiceSpec spec) {
  SecretReference r;
  r.secret_id = kSecret;
  r.secret_name = "pw";
  r.has_file = true;
  r.target = "pw";
  spec.task_template.container.secrets.push_back(r);
  return spec;
}

Service ServiceWithSecret() {
  Service s;
  s.id = "svc";
  s.spec = WithSecret(Replicated(1));
  return s;
}

TEST(SecretVersionDirty, ATaskOfTheServicesVersionIsClean) {
  Service s = ServiceWithSecret();
  s.secret_versions[kSecret] = 3;
  Task t = NewTask(s, 1, 1, "", FromUnixNanos(1));
  EXPECT_EQ(PinnedVersion(t.secret_versions, kSecret), 3);
  EXPECT_FALSE(IsTaskDirty(s, t, nullptr));
}

TEST(SecretVersionDirty, ANewPinMakesTheTaskDirty) {
  Service s = ServiceWithSecret();
  Task t = NewTask(s, 1, 1, "", FromUnixNanos(1));
  s.secret_versions[kSecret] = 2;
  EXPECT_TRUE(SecretVersionsDiffer(s, t));
  EXPECT_TRUE(IsTaskDirty(s, t, nullptr));
}

TEST(SecretVersionDirty, ATaskMadeBeforeVersionsIsVersionOne) {
  Service s = ServiceWithSecret();
  Task t = NewTask(s, 1, 1, "", FromUnixNanos(1));
  t.secret_versions.clear();  // as stored before versions existed
  EXPECT_FALSE(IsTaskDirty(s, t, nullptr));
  s.secret_versions[kSecret] = 1;  // an explicit pin of version 1 is the same
  EXPECT_FALSE(IsTaskDirty(s, t, nullptr));
}

TEST(SecretVersionDirty, APinOfASecretTheServiceDoesNotUseIsIgnored) {
  Service s = ServiceWithSecret();
  Task t = NewTask(s, 1, 1, "", FromUnixNanos(1));
  s.secret_versions["other"] = 5;
  EXPECT_FALSE(IsTaskDirty(s, t, nullptr));
  EXPECT_EQ(NewTask(s, 1, 1, "", FromUnixNanos(1)).secret_versions.count("other"), 0u);
}

class SecretRotationTest : public ::testing::Test {
 protected:
  SecretRotationTest() : cluster_(clock_), planner_(clock_) {
    cluster_.PutNode(ReadyNode("na", "a"));
  }

  size_t RunningCount(const std::string& svc) const {
    size_t n = 0;
    for (const Task& t : cluster_.TasksOf(svc)) n += t.status.state == TaskState::kRunning;
    return n;
  }

  FakeClock clock_{FromUnixNanos(1'700'000'000'000'000'000)};
  FakeCluster cluster_;
  Planner planner_;
};

TEST_F(SecretRotationTest, StartFirstRotationKeepsATaskRunningAndEndsOnTheNewVersion) {
  ServiceSpec spec = WithSecret(Replicated(2));
  spec.update_config = UpdateConfig{};
  spec.update_config->order = "start-first";
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  ASSERT_EQ(RunningCount(svc), 2u);

  cluster_.PinSecretVersion(svc, kSecret, 2);
  for (int i = 0; i < 60; ++i) {
    cluster_.Pass(planner_);
    cluster_.AgentsFollow();
    EXPECT_GE(RunningCount(svc), 1u) << "after step " << i;
    clock_.Advance(std::chrono::seconds(1));
  }
  std::vector<Task> runnable = cluster_.Runnable(svc);
  ASSERT_EQ(runnable.size(), 2u);
  for (const Task& t : runnable) {
    EXPECT_EQ(PinnedVersion(t.secret_versions, kSecret), 2);
    EXPECT_EQ(t.status.state, TaskState::kRunning);
  }
  ASSERT_TRUE(cluster_.service(svc).update_status.has_value());
  EXPECT_EQ(cluster_.service(svc).update_status->state, "completed");
}

TEST_F(SecretRotationTest, StopFirstRotationReplacesEveryTask) {
  const std::string svc = cluster_.CreateService(WithSecret(Replicated(1)));
  cluster_.Settle(planner_);
  const std::string before = cluster_.Runnable(svc).at(0).id;

  cluster_.PinSecretVersion(svc, kSecret, 2);
  for (int i = 0; i < 30; ++i) {
    cluster_.Pass(planner_);
    cluster_.AgentsFollow();
    clock_.Advance(std::chrono::seconds(1));
  }
  std::vector<Task> runnable = cluster_.Runnable(svc);
  ASSERT_EQ(runnable.size(), 1u);
  EXPECT_NE(runnable[0].id, before);
  EXPECT_EQ(PinnedVersion(runnable[0].secret_versions, kSecret), 2);
  // The Spec did not change: a rotation is not a spec update.
  EXPECT_EQ(TaskSpecJson(runnable[0].spec), TaskSpecJson(cluster_.service(svc).spec.task_template));
}

TEST_F(SecretRotationTest, AFailedRotationWithFailureActionRollbackBringsTheOldVersionBack) {
  ServiceSpec spec = WithSecret(Replicated(1));
  spec.update_config = UpdateConfig{};
  spec.update_config->failure_action = "rollback";
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);

  cluster_.PinSecretVersion(svc, kSecret, 2);
  for (int i = 0; i < 60; ++i) {
    cluster_.Pass(planner_);
    // Every task of the new version fails as soon as its node has it.
    for (const Task& t : cluster_.TasksOf(svc)) {
      if (PinnedVersion(t.secret_versions, kSecret) == 2 &&
          t.status.state >= TaskState::kAssigned && !IsTerminal(t.status.state)) {
        cluster_.SetTaskState(t.id, TaskState::kFailed, "task: non-zero exit (1)");
      }
    }
    cluster_.AgentsFollow();
    clock_.Advance(std::chrono::seconds(1));
  }
  const Service& s = cluster_.service(svc);
  EXPECT_EQ(PinnedVersion(s.secret_versions, kSecret), 1);
  EXPECT_FALSE(s.previous_secret_versions.has_value());
  ASSERT_TRUE(s.update_status.has_value());
  EXPECT_EQ(s.update_status->state, "rollback_completed");
  std::vector<Task> runnable = cluster_.Runnable(svc);
  ASSERT_EQ(runnable.size(), 1u);
  EXPECT_EQ(PinnedVersion(runnable[0].secret_versions, kSecret), 1);
  EXPECT_EQ(runnable[0].status.state, TaskState::kRunning);
}

}  // namespace
}  // namespace capsule::orchestrator
