// Reconcile passes against an in-memory cluster (fake_cluster.h) with a fake clock: what
// the orchestrator and scheduler write, step by step, as agents report task states.
#include "manager/orchestrator/planner.h"

#include <gtest/gtest.h>

#include <set>

#include "manager/orchestrator/fake_cluster.h"
#include "manager/orchestrator/tasks.h"

namespace capsule::orchestrator {
namespace {

using ::capsule::testing::FakeClock;
using std::chrono::seconds;
using testing::FakeCluster;
using testing::ReadyNode;
using testing::Replicated;

ServiceSpec Global() {
  ServiceSpec s = Replicated(0);
  s.name = "agent";
  s.global = true;
  return s;
}

std::set<uint64_t> Slots(const std::vector<Task>& tasks) {
  std::set<uint64_t> out;
  for (const Task& t : tasks) out.insert(t.slot);
  return out;
}

class PlannerTest : public ::testing::Test {
 protected:
  PlannerTest() : cluster_(clock_), planner_(clock_) {
    cluster_.PutNode(ReadyNode("na", "a"));
    cluster_.PutNode(ReadyNode("nb", "b"));
  }

  // The only runnable task of a slot.
  Task InSlot(const std::string& svc, uint64_t slot) {
    std::vector<Task> found;
    for (const Task& t : cluster_.Runnable(svc)) {
      if (t.slot == slot) found.push_back(t);
    }
    EXPECT_EQ(found.size(), 1u) << "slot " << slot;
    return found.empty() ? Task{} : found.front();
  }

  FakeClock clock_;
  FakeCluster cluster_;
  Planner planner_;
};

TEST_F(PlannerTest, NewServiceGetsOneTaskPerSlotAssignedAndSpread) {
  const std::string svc = cluster_.CreateService(Replicated(3));
  cluster_.Pass(planner_);
  // Each task is created and assigned in the same pass, with one store write: the scheduler's
  // update is folded into the pending create (1,000 new tasks = 1,000 writes, not 2,000).
  const std::vector<Write> writes = cluster_.last_writes();
  ASSERT_EQ(writes.size(), 3u);
  for (const Write& w : writes) {
    EXPECT_EQ(w.kind, Write::Kind::kCreateTask);
    EXPECT_EQ(w.task.status.state, TaskState::kAssigned);
    EXPECT_EQ(w.task.status.message, "scheduler assigned task to node");
    EXPECT_FALSE(w.task.node_id.empty());
    EXPECT_EQ(w.task.spec_version, cluster_.service_revision(svc));
  }

  const std::vector<Task> tasks = cluster_.TasksOf(svc);
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(Slots(tasks), (std::set<uint64_t>{1, 2, 3}));
  std::map<std::string, int> per_node;
  for (const Task& t : tasks) {
    EXPECT_EQ(t.status.state, TaskState::kAssigned);
    EXPECT_EQ(t.status.message, "scheduler assigned task to node");
    EXPECT_EQ(t.desired_state, TaskState::kRunning);
    EXPECT_EQ(t.spec.container.image, "busybox:1");
    EXPECT_EQ(t.service_id, svc);
    ++per_node[t.node_id];
  }
  EXPECT_EQ(per_node.size(), 2u);
  EXPECT_GE(per_node["na"], 1);
  EXPECT_GE(per_node["nb"], 1);

  // Converged: agents run the tasks, and further passes write nothing.
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.Pass(planner_), 0u);
  for (const Task& t : cluster_.TasksOf(svc)) EXPECT_EQ(t.status.state, TaskState::kRunning);
}

TEST_F(PlannerTest, NoSuitableNodeStaysPendingUntilANodeFits) {
  ServiceSpec spec = Replicated(1);
  spec.task_template.placement.constraints = {"node.labels.zone==x"};
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  std::vector<Task> tasks = cluster_.TasksOf(svc);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].status.state, TaskState::kPending);
  EXPECT_EQ(tasks[0].status.message, "pending task scheduling");
  EXPECT_EQ(tasks[0].status.err,
            "no suitable node (scheduling constraints not satisfied on 2 nodes)");
  EXPECT_EQ(tasks[0].node_id, "");
  // Retried when the nodes change.
  cluster_.SetNode("nb", [](Node& n) { n.labels["zone"] = "x"; });
  cluster_.Settle(planner_);
  tasks = cluster_.TasksOf(svc);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].node_id, "nb");
  EXPECT_EQ(tasks[0].status.state, TaskState::kRunning);
  EXPECT_EQ(tasks[0].status.err, "");
}

TEST_F(PlannerTest, ScaleUpAddsSlotsScaleDownRemovesTheHighest) {
  const std::string svc = cluster_.CreateService(Replicated(2));
  cluster_.Settle(planner_);
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.replicas = 4; });
  cluster_.Settle(planner_);
  EXPECT_EQ(Slots(cluster_.Runnable(svc)), (std::set<uint64_t>{1, 2, 3, 4}));
  // A change of Replicas alone is a scale, not an update.
  EXPECT_FALSE(cluster_.service(svc).update_status.has_value());

  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.replicas = 1; });
  cluster_.Pass(planner_);
  for (const Task& t : cluster_.TasksOf(svc)) {
    EXPECT_EQ(t.desired_state, t.slot == 1 ? TaskState::kRunning : TaskState::kRemove) << t.slot;
  }
  // Once the agents stopped them, removed tasks are deleted.
  cluster_.Settle(planner_);
  const std::vector<Task> left = cluster_.TasksOf(svc);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].slot, 1u);
}

TEST_F(PlannerTest, ScaleDownPrefersTasksThatDoNotRun) {
  const std::string svc = cluster_.CreateService(Replicated(3));
  cluster_.Settle(planner_);
  // Slot 1's node goes away from scheduling view: make slot 1 not running (still starting).
  const Task one = InSlot(svc, 1);
  cluster_.SetTaskState(one.id, TaskState::kStarting);
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.replicas = 2; });
  cluster_.Pass(planner_);
  EXPECT_EQ(Slots(cluster_.Runnable(svc)), (std::set<uint64_t>{2, 3}));
}

TEST_F(PlannerTest, RestartAnyReplacesAStoppedTaskInItsSlotAfterTheDelay) {
  const std::string svc = cluster_.CreateService(Replicated(1));
  cluster_.Settle(planner_);
  const Task first = InSlot(svc, 1);
  cluster_.SetTaskState(first.id, TaskState::kComplete);
  cluster_.Settle(planner_, /*agents=*/true);

  EXPECT_EQ(cluster_.task(first.id)->desired_state, TaskState::kShutdown);
  Task next = InSlot(svc, 1);
  EXPECT_NE(next.id, first.id);
  // Created at once (so it is scheduled and prepared) but held READY for Delay (5 s).
  EXPECT_EQ(next.desired_state, TaskState::kReady);
  EXPECT_EQ(next.status.state, TaskState::kReady);
  clock_.Advance(seconds(4));
  cluster_.Settle(planner_);
  EXPECT_EQ(InSlot(svc, 1).desired_state, TaskState::kReady);
  clock_.Advance(seconds(1));
  cluster_.Settle(planner_);
  next = InSlot(svc, 1);
  EXPECT_EQ(next.desired_state, TaskState::kRunning);
  EXPECT_EQ(next.status.state, TaskState::kRunning);
}

TEST_F(PlannerTest, AfterAManagerRestartAWaitingTaskStartsOnceItsDelayPassed) {
  const std::string svc = cluster_.CreateService(Replicated(1));
  cluster_.Settle(planner_);
  cluster_.SetTaskState(InSlot(svc, 1).id, TaskState::kFailed);
  cluster_.Settle(planner_);
  ASSERT_EQ(InSlot(svc, 1).desired_state, TaskState::kReady);
  // A new planner (this manager restarted) has no record of the delay: it counts it from
  // the task's creation.
  Planner fresh(clock_);
  clock_.Advance(seconds(3));
  cluster_.Settle(fresh);
  EXPECT_EQ(InSlot(svc, 1).desired_state, TaskState::kReady);
  clock_.Advance(seconds(2));
  cluster_.Settle(fresh);
  EXPECT_EQ(InSlot(svc, 1).status.state, TaskState::kRunning);
}

TEST_F(PlannerTest, StopFirstStopsWaitingForAnOldTaskThatNeverStops) {
  const std::string svc = cluster_.CreateService(Replicated(1));
  cluster_.Settle(planner_);
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.image = "b:2"; });
  cluster_.Pass(planner_);  // no agent: the old task keeps running
  const Task fresh = InSlot(svc, 1);
  EXPECT_EQ(fresh.desired_state, TaskState::kReady);
  EXPECT_EQ(planner_.NextWake(), clock_.Now() + std::chrono::minutes(1));
  clock_.Advance(seconds(59));
  cluster_.Pass(planner_);
  EXPECT_EQ(cluster_.task(fresh.id)->desired_state, TaskState::kReady);
  clock_.Advance(seconds(1));
  cluster_.Pass(planner_);
  EXPECT_EQ(cluster_.task(fresh.id)->desired_state, TaskState::kRunning);
}

TEST_F(PlannerTest, RestartOnFailureOnlyAfterFailures) {
  ServiceSpec spec = Replicated(2);
  RestartPolicy policy;
  policy.condition = "on-failure";
  policy.delay_ns = 0;
  spec.task_template.restart_policy = policy;
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  const Task one = InSlot(svc, 1);
  const Task two = InSlot(svc, 2);
  cluster_.SetTaskState(one.id, TaskState::kComplete);
  cluster_.SetTaskState(two.id, TaskState::kFailed, "task: non-zero exit (1)");
  cluster_.Settle(planner_);
  // Slot 1 completed: finished for good (and not refilled); slot 2 failed: restarted.
  EXPECT_EQ(cluster_.task(one.id)->desired_state, TaskState::kShutdown);
  const std::vector<Task> runnable = cluster_.Runnable(svc);
  EXPECT_TRUE(
      std::none_of(runnable.begin(), runnable.end(), [](const Task& t) { return t.slot == 1; }));
  const Task again = InSlot(svc, 2);
  EXPECT_NE(again.id, two.id);
  EXPECT_EQ(again.status.state, TaskState::kRunning);
  EXPECT_EQ(cluster_.TasksOf(svc).size(), 3u);
}

TEST_F(PlannerTest, RestartNoneNeverRestarts) {
  ServiceSpec spec = Replicated(1);
  RestartPolicy policy;
  policy.condition = "none";
  spec.task_template.restart_policy = policy;
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  const Task one = InSlot(svc, 1);
  cluster_.SetTaskState(one.id, TaskState::kFailed);
  clock_.Advance(seconds(60));
  cluster_.Settle(planner_);
  EXPECT_TRUE(cluster_.Runnable(svc).empty());
  EXPECT_EQ(cluster_.TasksOf(svc).size(), 1u);
}

TEST_F(PlannerTest, MaxAttemptsLimitsRestarts) {
  ServiceSpec spec = Replicated(1);
  RestartPolicy policy;
  policy.delay_ns = 0;
  policy.max_attempts = 2;
  spec.task_template.restart_policy = policy;
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  for (int i = 0; i < 4; ++i) {
    std::vector<Task> runnable = cluster_.Runnable(svc);
    if (runnable.empty()) break;
    cluster_.SetTaskState(runnable[0].id, TaskState::kFailed);
    cluster_.Settle(planner_);
  }
  EXPECT_TRUE(cluster_.Runnable(svc).empty());
  EXPECT_EQ(cluster_.TasksOf(svc).size(), 3u);  // the first task and two restarts
}

TEST_F(PlannerTest, TasksOfADownNodeAreRescheduledElsewhere) {
  const std::string svc = cluster_.CreateService(Replicated(4));
  cluster_.Settle(planner_);
  ASSERT_EQ(cluster_.RunningOn(svc, "na").size(), 2u);
  cluster_.SetNode("na", [](Node& n) { n.state = "down"; });
  cluster_.Settle(planner_);
  for (const Task& t : cluster_.TasksOf(svc)) {
    if (t.node_id == "na") {
      // Nobody can report these stopped: they are orphaned (and no longer count).
      EXPECT_EQ(t.desired_state, TaskState::kShutdown);
      EXPECT_EQ(t.status.state, TaskState::kOrphaned);
    }
  }
  EXPECT_EQ(planner_.NextWake(), clock_.Now() + seconds(5));
  // Replacements wait out the restart delay (no waiting for the unreachable old tasks).
  clock_.Advance(seconds(5));
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.RunningOn(svc, "nb").size(), 4u);
  EXPECT_EQ(Slots(cluster_.Runnable(svc)), (std::set<uint64_t>{1, 2, 3, 4}));
}

TEST_F(PlannerTest, DrainMovesTasksAwayWithoutRestartDelay) {
  const std::string svc = cluster_.CreateService(Replicated(2));
  cluster_.Settle(planner_);
  cluster_.SetNode("nb", [](Node& n) { n.availability = "drain"; });
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.RunningOn(svc, "na").size(), 2u);
  EXPECT_TRUE(cluster_.RunningOn(svc, "nb").empty());
  for (const Task& t : cluster_.TasksOf(svc)) {
    if (t.node_id == "nb") {
      EXPECT_EQ(t.status.state, TaskState::kShutdown);
    }
  }
}

TEST_F(PlannerTest, GlobalServiceRunsOnceOnEveryEligibleNode) {
  ServiceSpec spec = Global();
  spec.task_template.placement.constraints = {"node.role==worker"};
  const std::string svc = cluster_.CreateService(spec);
  Node manager = ReadyNode("nm", "m");
  manager.role = "manager";
  cluster_.PutNode(manager);
  cluster_.Pass(planner_);
  std::vector<Task> tasks = cluster_.TasksOf(svc);
  ASSERT_EQ(tasks.size(), 2u);
  for (const Task& t : tasks) {
    EXPECT_EQ(t.slot, 0u);
    EXPECT_EQ(t.status.state, TaskState::kAssigned);
    EXPECT_EQ(t.status.message, "scheduler confirmed task can run on preassigned node");
  }
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.RunningOn(svc, "na").size(), 1u);
  EXPECT_EQ(cluster_.RunningOn(svc, "nb").size(), 1u);

  // A new node gets one; a drained node's task is shut down and not replaced elsewhere.
  cluster_.PutNode(ReadyNode("nc", "c"));
  cluster_.SetNode("na", [](Node& n) { n.availability = "drain"; });
  cluster_.Settle(planner_);
  EXPECT_TRUE(cluster_.RunningOn(svc, "na").empty());
  EXPECT_EQ(cluster_.RunningOn(svc, "nb").size(), 1u);
  EXPECT_EQ(cluster_.RunningOn(svc, "nc").size(), 1u);
  EXPECT_EQ(cluster_.Runnable(svc).size(), 2u);
  // Back to active: it gets a task again.
  cluster_.SetNode("na", [](Node& n) { n.availability = "active"; });
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.RunningOn(svc, "na").size(), 1u);
}

TEST_F(PlannerTest, GlobalTaskThatStopsIsRestartedOnItsNode) {
  const std::string svc = cluster_.CreateService(Global());
  cluster_.Settle(planner_);
  const Task on_a = cluster_.RunningOn(svc, "na").at(0);
  cluster_.SetTaskState(on_a.id, TaskState::kFailed);
  clock_.Advance(seconds(5));
  cluster_.Settle(planner_);
  clock_.Advance(seconds(5));
  cluster_.Settle(planner_);
  const std::vector<Task> now_on_a = cluster_.RunningOn(svc, "na");
  ASSERT_EQ(now_on_a.size(), 1u);
  EXPECT_NE(now_on_a[0].id, on_a.id);
}

TEST_F(PlannerTest, RollingUpdateStopFirstOneAtATime) {
  ServiceSpec spec = Replicated(2);
  spec.update_config = UpdateConfig{};  // parallelism 1, stop-first
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  const Task old1 = InSlot(svc, 1);
  const Task old2 = InSlot(svc, 2);
  cluster_.UpdateService(svc,
                         [](ServiceSpec& s) { s.task_template.container.image = "busybox:2"; });

  cluster_.Pass(planner_);
  ASSERT_TRUE(cluster_.service(svc).update_status.has_value());
  EXPECT_EQ(cluster_.service(svc).update_status->state, "updating");
  EXPECT_EQ(cluster_.service(svc).update_status->message, "update in progress");
  // Slot 1 first: old task told to stop, its replacement created but held READY.
  EXPECT_EQ(cluster_.task(old1.id)->desired_state, TaskState::kShutdown);
  EXPECT_EQ(cluster_.task(old2.id)->desired_state, TaskState::kRunning);
  Task new1 = InSlot(svc, 1);
  EXPECT_EQ(new1.spec.container.image, "busybox:2");
  EXPECT_EQ(new1.desired_state, TaskState::kReady);
  EXPECT_EQ(new1.status.state, TaskState::kAssigned);
  // While the old task still runs, the new one is not started.
  cluster_.Pass(planner_);
  EXPECT_EQ(cluster_.task(new1.id)->desired_state, TaskState::kReady);
  // The agent stops the old task → the new one may start; slot 2 waits until it runs.
  cluster_.SetTaskState(old1.id, TaskState::kShutdown);
  cluster_.Pass(planner_);
  EXPECT_EQ(cluster_.task(new1.id)->desired_state, TaskState::kRunning);
  EXPECT_EQ(cluster_.task(old2.id)->desired_state, TaskState::kRunning);
  cluster_.SetTaskState(new1.id, TaskState::kRunning);
  cluster_.Pass(planner_);
  EXPECT_EQ(cluster_.task(old2.id)->desired_state, TaskState::kShutdown);

  cluster_.Settle(planner_);
  for (const Task& t : cluster_.Runnable(svc)) {
    EXPECT_EQ(t.spec.container.image, "busybox:2");
    EXPECT_EQ(t.status.state, TaskState::kRunning);
  }
  EXPECT_EQ(cluster_.Runnable(svc).size(), 2u);
  // Every task runs the new spec; the update completes once they passed Monitor (5 s).
  ASSERT_TRUE(cluster_.service(svc).update_status.has_value());
  EXPECT_EQ(cluster_.service(svc).update_status->state, "updating");
  EXPECT_EQ(planner_.NextWake(), clock_.Now() + seconds(5));
  clock_.Advance(seconds(5));
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.service(svc).update_status->state, "completed");
  EXPECT_EQ(cluster_.service(svc).update_status->message, "update completed");
  EXPECT_GT(cluster_.service(svc).update_status->completed_at,
            cluster_.service(svc).update_status->started_at - seconds(1));
}

TEST_F(PlannerTest, RollingUpdateStartFirstKeepsTheOldTaskUntilTheNewOneRuns) {
  ServiceSpec spec = Replicated(1);
  UpdateConfig uc;
  uc.order = "start-first";
  spec.update_config = uc;
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  const Task old = InSlot(svc, 1);
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.force_update = 1; });
  cluster_.Pass(planner_);
  std::vector<Task> runnable = cluster_.Runnable(svc);
  ASSERT_EQ(runnable.size(), 2u);  // old and new side by side
  const Task& fresh = runnable[0].id == old.id ? runnable[1] : runnable[0];
  EXPECT_EQ(fresh.desired_state, TaskState::kRunning);
  EXPECT_EQ(fresh.spec.force_update, 1u);
  EXPECT_EQ(cluster_.task(old.id)->desired_state, TaskState::kRunning);
  cluster_.SetTaskState(fresh.id, TaskState::kRunning);
  cluster_.Pass(planner_);
  EXPECT_EQ(cluster_.task(old.id)->desired_state, TaskState::kShutdown);
  cluster_.Settle(planner_);
  clock_.Advance(seconds(5));
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.service(svc).update_status->state, "completed");
}

TEST_F(PlannerTest, RollingUpdateParallelismAndDelay) {
  ServiceSpec spec = Replicated(4);
  UpdateConfig uc;
  uc.parallelism = 2;
  uc.delay_ns = 10'000'000'000LL;
  spec.update_config = uc;
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.env = {"A=1"}; });
  auto updated = [&] {
    int n = 0;
    for (const Task& t : cluster_.Runnable(svc)) n += t.spec.container.env.size() == 1 ? 1 : 0;
    return n;
  };
  cluster_.Pass(planner_);
  EXPECT_EQ(updated(), 2);
  cluster_.Settle(planner_);  // the first two run; the next batch waits out the delay
  EXPECT_EQ(updated(), 2);
  EXPECT_EQ(cluster_.service(svc).update_status->state, "updating");
  clock_.Advance(seconds(10));
  cluster_.Settle(planner_);
  EXPECT_EQ(updated(), 4);
  // Delay (10 s) is not shorter than Monitor (5 s): swarmkit waits out the last batch's delay,
  // then watches Delay + 1 s more.
  clock_.Advance(seconds(20));
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.service(svc).update_status->state, "updating");
  clock_.Advance(seconds(1));
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.service(svc).update_status->state, "completed");
}

TEST_F(PlannerTest, RollingUpdateParallelismZeroReplacesAllAtOnce) {
  ServiceSpec spec = Replicated(3);
  UpdateConfig uc;
  uc.parallelism = 0;
  spec.update_config = uc;
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.image = "x:2"; });
  cluster_.Pass(planner_);
  int fresh = 0;
  for (const Task& t : cluster_.Runnable(svc)) fresh += t.spec.container.image == "x:2" ? 1 : 0;
  EXPECT_EQ(fresh, 3);
}

TEST_F(PlannerTest, UpdatePausesWhenANewTaskFails) {
  ServiceSpec spec = Replicated(2);
  spec.update_config = UpdateConfig{};  // failure action pause, ratio 0
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  const Task old1 = InSlot(svc, 1);
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.image = "bad:1"; });
  cluster_.Pass(planner_);
  cluster_.SetTaskState(old1.id, TaskState::kShutdown);
  cluster_.Pass(planner_);
  const Task fresh = InSlot(svc, 1);
  ASSERT_EQ(fresh.spec.container.image, "bad:1");
  ASSERT_EQ(fresh.desired_state, TaskState::kRunning);
  cluster_.SetTaskState(fresh.id, TaskState::kRejected, "No such image: bad:1");
  cluster_.Settle(planner_);
  const Service& s = cluster_.service(svc);
  ASSERT_TRUE(s.update_status.has_value());
  EXPECT_EQ(s.update_status->state, "paused");
  EXPECT_EQ(s.update_status->message,
            "update paused due to failure or early termination of task " + fresh.id);
  // Slot 2 keeps its old task while the update is paused.
  clock_.Advance(seconds(10));
  cluster_.Settle(planner_);
  EXPECT_EQ(InSlot(svc, 2).spec.container.image, "busybox:1");
  EXPECT_EQ(cluster_.service(svc).update_status->state, "paused");
  // Updating the service again resumes (controlapi resets UpdateStatus).
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.image = "ok:2"; });
  for (int i = 0; i < 4; ++i) {
    cluster_.Settle(planner_);
    clock_.Advance(seconds(5));
  }
  EXPECT_EQ(cluster_.service(svc).update_status->state, "completed");
  for (const Task& t : cluster_.Runnable(svc)) EXPECT_EQ(t.spec.container.image, "ok:2");
  EXPECT_EQ(cluster_.Runnable(svc).size(), 2u);
}

TEST_F(PlannerTest, RemovedServiceTasksAreDeletedOnceStopped) {
  const std::string svc = cluster_.CreateService(Replicated(2));
  cluster_.Settle(planner_);
  cluster_.SetNode("nb", [](Node& n) { n.state = "down"; });
  cluster_.RemoveService(svc);
  cluster_.Pass(planner_);
  // The task on the down node goes at once; the other one once its agent stopped it.
  std::vector<Task> left = cluster_.TasksOf(svc);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].node_id, "na");
  EXPECT_EQ(left[0].desired_state, TaskState::kRemove);
  cluster_.Settle(planner_);
  EXPECT_TRUE(cluster_.TasksOf(svc).empty());
}

TEST_F(PlannerTest, TaskHistoryIsTrimmedPerSlot) {
  ServiceSpec spec = Replicated(1);
  RestartPolicy policy;
  policy.delay_ns = 0;
  spec.task_template.restart_policy = policy;
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  for (int i = 0; i < 8; ++i) {
    clock_.Advance(seconds(1));
    cluster_.SetTaskState(cluster_.Runnable(svc).at(0).id, TaskState::kFailed);
    cluster_.Settle(planner_);
  }
  EXPECT_EQ(cluster_.TasksOf(svc).size(), 5u);
  EXPECT_EQ(cluster_.Runnable(svc).size(), 1u);
  cluster_.SetRetention(2);
  cluster_.Settle(planner_);
  EXPECT_EQ(cluster_.TasksOf(svc).size(), 2u);
}

TEST_F(PlannerTest, FailedTaskIsRetriedOnAnotherNode) {
  RestartPolicy policy;
  policy.delay_ns = 0;
  ServiceSpec spec = Replicated(1);
  spec.task_template.restart_policy = policy;
  const std::string svc = cluster_.CreateService(spec);
  cluster_.Settle(planner_);
  const Task first = InSlot(svc, 1);
  cluster_.SetTaskState(first.id, TaskState::kRejected, "No such image: busybox:1");
  cluster_.Settle(planner_);
  const Task second = InSlot(svc, 1);
  EXPECT_NE(second.node_id, first.node_id);
  EXPECT_EQ(second.status.state, TaskState::kRunning);
}

}  // namespace
}  // namespace capsule::orchestrator

namespace capsule::orchestrator {
namespace {

TEST(TaskDirty, FollowsTheTaskTemplateOnly) {
  Service s;
  s.spec.replicas = 1;
  s.spec.task_template.container.image = "busybox:1";
  s.spec.task_template.runtime = "container";
  Task t;
  t.spec = s.spec.task_template;
  t.spec.runtime.clear();  // stored tasks carry no Runtime
  EXPECT_FALSE(IsTaskDirty(s, t, nullptr));
  s.spec.replicas = 5;
  EXPECT_FALSE(IsTaskDirty(s, t, nullptr));
  s.spec.task_template.force_update = 1;
  EXPECT_TRUE(IsTaskDirty(s, t, nullptr));
  s.spec.task_template.force_update = 0;
  s.spec.task_template.container.secrets.push_back(SecretReference{});
  EXPECT_TRUE(IsTaskDirty(s, t, nullptr));
}

TEST(TaskDirty, NewConstraintsTheNodeStillMeetsDoNotMakeATaskDirty) {
  Service s;
  s.spec.task_template.container.image = "busybox:1";
  Task t;
  t.spec = s.spec.task_template;
  Node w1 = testing::ReadyNode("n1", "w1");
  s.spec.task_template.placement.constraints = {"node.hostname==w1"};
  EXPECT_FALSE(IsTaskDirty(s, t, &w1));
  EXPECT_TRUE(IsTaskDirty(s, t, nullptr));  // not placed yet
  s.spec.task_template.placement.constraints = {"node.hostname==w2"};
  EXPECT_TRUE(IsTaskDirty(s, t, &w1));
}

}  // namespace
}  // namespace capsule::orchestrator
