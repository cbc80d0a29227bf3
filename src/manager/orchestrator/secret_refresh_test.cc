// Live refresh through the orchestrator (objects/secret_refresh.h): a rotation of a secret the
// service refreshes moves each running task's version in place — same task ID, slot and
// node, no new task, no update — while a secret without a policy still rolls; adding the
// first policy (a new layout) replaces the tasks once.
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

constexpr char kRefreshed[] = "sec1";
constexpr char kRolled[] = "sec2";

SecretReference Ref(const std::string& id, const std::string& name) {
  SecretReference r;
  r.secret_id = id;
  r.secret_name = name;
  r.has_file = true;
  r.target = name;
  return r;
}

Service RefreshingService() {
  Service s;
  s.id = "svc";
  s.spec = Replicated(1);
  s.spec.task_template.container.secrets = {Ref(kRefreshed, "pw"), Ref(kRolled, "db")};
  s.secret_refresh[kRefreshed] = "signal:1";
  return s;
}

TEST(MoveSecretsInPlace, MovesTheRefreshedSecretOnlyAndKeepsTheTask) {
  Service s = RefreshingService();
  Task t = NewTask(s, 1, 1, "na", FromUnixNanos(1));
  t.status.state = TaskState::kRunning;
  const Task before = t;
  s.secret_versions[kRefreshed] = 3;
  s.secret_versions[kRolled] = 2;
  EXPECT_TRUE(MoveSecretsInPlace(s, t, FromUnixNanos(5)));
  EXPECT_EQ(t.id, before.id);
  EXPECT_EQ(t.slot, before.slot);
  EXPECT_EQ(t.node_id, before.node_id);
  EXPECT_EQ(PinnedVersion(t.secret_versions, kRefreshed), 3);
  EXPECT_EQ(PinnedVersion(t.secret_versions, kRolled), 1);  // rolled by the updater instead
  EXPECT_EQ(t.updated_at, FromUnixNanos(5));
  EXPECT_FALSE(MoveSecretsInPlace(s, t, FromUnixNanos(6)));  // nothing left to move
}

TEST(MoveSecretsInPlace, AllowsARollbackToVersionOne) {
  Service s = RefreshingService();
  s.secret_versions[kRefreshed] = 2;
  Task t = NewTask(s, 1, 1, "na", FromUnixNanos(1));
  s.secret_versions.erase(kRefreshed);
  EXPECT_TRUE(MoveSecretsInPlace(s, t, FromUnixNanos(5)));
  EXPECT_EQ(t.secret_versions.count(kRefreshed), 0u);
}

TEST(MoveSecretsInPlace, LeavesEndedAndStoppingTasksAndTasksWithoutTheLayout) {
  Service s = RefreshingService();
  Task ended = NewTask(s, 1, 1, "na", FromUnixNanos(1));
  ended.status.state = TaskState::kFailed;
  Task stopping = NewTask(s, 1, 1, "na", FromUnixNanos(1));
  stopping.desired_state = TaskState::kShutdown;
  Task plain = NewTask(s, 1, 1, "na", FromUnixNanos(1));
  plain.secret_refresh.clear();  // made before the service had a policy
  s.secret_versions[kRefreshed] = 2;
  EXPECT_FALSE(MoveSecretsInPlace(s, ended, FromUnixNanos(5)));
  EXPECT_FALSE(MoveSecretsInPlace(s, stopping, FromUnixNanos(5)));
  EXPECT_FALSE(MoveSecretsInPlace(s, plain, FromUnixNanos(5)));
  EXPECT_TRUE(IsTaskDirty(s, plain, nullptr));
}

TEST(MoveSecretsInPlace, ANewSignalMovesInPlaceButTheFirstPolicyReplaces) {
  Service s = RefreshingService();
  Task t = NewTask(s, 1, 1, "na", FromUnixNanos(1));
  s.secret_refresh[kRefreshed] = "none";
  s.secret_refresh[kRolled] = "signal:10";
  EXPECT_FALSE(IsTaskDirty(s, t, nullptr));
  EXPECT_TRUE(MoveSecretsInPlace(s, t, FromUnixNanos(5)));
  EXPECT_EQ(t.secret_refresh, s.secret_refresh);
  s.secret_refresh.clear();
  EXPECT_TRUE(IsTaskDirty(s, t, nullptr));  // back to Docker's per-file layout
}

class SecretRefreshPlannerTest : public ::testing::Test {
 protected:
  SecretRefreshPlannerTest() : cluster_(clock_), planner_(clock_) {
    cluster_.PutNode(ReadyNode("na", "a"));
  }
  void Run(int passes) {
    for (int i = 0; i < passes; ++i) {
      cluster_.Pass(planner_);
      cluster_.AgentsFollow();
      clock_.Advance(std::chrono::seconds(1));
    }
  }

  FakeClock clock_{FromUnixNanos(1'700'000'000'000'000'000)};
  FakeCluster cluster_;
  Planner planner_;
};

TEST_F(SecretRefreshPlannerTest, ARotationOfARefreshedSecretKeepsEveryTask) {
  ServiceSpec spec = Replicated(2);
  spec.task_template.container.secrets = {Ref(kRefreshed, "pw")};
  const std::string svc = cluster_.CreateService(spec);
  cluster_.SetSecretRefresh(svc, kRefreshed, "signal:1");
  cluster_.Settle(planner_);
  std::vector<Task> before = cluster_.Runnable(svc);
  ASSERT_EQ(before.size(), 2u);
  ASSERT_EQ(before[0].secret_refresh.count(kRefreshed), 1u);

  for (int64_t v = 2; v <= 4; ++v) {
    cluster_.PinSecretVersion(svc, kRefreshed, v);
    Run(3);
    std::vector<Task> after = cluster_.Runnable(svc);
    ASSERT_EQ(after.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(after[i].id, before[i].id);
      EXPECT_EQ(after[i].slot, before[i].slot);
      EXPECT_EQ(after[i].status.state, TaskState::kRunning);
      EXPECT_EQ(PinnedVersion(after[i].secret_versions, kRefreshed), v);
    }
    EXPECT_EQ(cluster_.TasksOf(svc).size(), 2u);  // no task was made or ended
  }
  EXPECT_FALSE(cluster_.service(svc).update_status.has_value());
}

TEST_F(SecretRefreshPlannerTest, ARotationOfASecretWithoutPolicyStillRolls) {
  ServiceSpec spec = Replicated(1);
  spec.task_template.container.secrets = {Ref(kRefreshed, "pw"), Ref(kRolled, "db")};
  const std::string svc = cluster_.CreateService(spec);
  cluster_.SetSecretRefresh(svc, kRefreshed, "none");
  cluster_.Settle(planner_);
  const std::string first = cluster_.Runnable(svc).at(0).id;
  cluster_.PinSecretVersion(svc, kRolled, 2);
  Run(30);
  std::vector<Task> after = cluster_.Runnable(svc);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0].id, first);
  EXPECT_EQ(PinnedVersion(after[0].secret_versions, kRolled), 2);
  EXPECT_EQ(after[0].secret_refresh.count(kRefreshed), 1u);
}

}  // namespace
}  // namespace capsule::orchestrator
