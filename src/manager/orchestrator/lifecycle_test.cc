// Task lifecycle timing (issue 19) against an in-memory cluster (fake_cluster.h) and a fake
// clock: a replacement starts only after its restart delay — for tasks that exit, fail to
// start or are rejected while they wait — MaxAttempts and Window count those too, stop-first
// never runs two tasks of a slot, an update completes only after the monitor period, and the
// failure actions pause, continue and rollback behave as Docker's.
#include <gtest/gtest.h>

#include <set>

#include "manager/orchestrator/fake_cluster.h"
#include "manager/orchestrator/planner.h"
#include "manager/orchestrator/tasks.h"

namespace capsule::orchestrator {
namespace {

using ::capsule::testing::FakeClock;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeCluster;
using testing::ReadyNode;
using testing::Replicated;

RestartPolicy Policy(std::chrono::nanoseconds delay, uint64_t max_attempts = 0,
                     std::chrono::nanoseconds window = {}) {
  RestartPolicy p;
  p.delay_ns = delay.count();
  p.max_attempts = max_attempts;
  p.window_ns = window.count();
  return p;
}

// What a node does with each task in one step of a simulated agent.
enum class Behaviour {
  kRuns,         // starts and keeps running
  kExits,        // starts, runs one step, exits 1 (sh -c 'exit 1')
  kFailsStart,   // the start fails (/no/such/binary): READY → FAILED
  kRejectsPrep,  // Prepare fails (no such image): ASSIGNED → REJECTED
};

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest() : cluster_(clock_), planner_(clock_) { cluster_.PutNode(ReadyNode("na", "a")); }

  // One agent step: every task of the service moves as `behaviour` says, and only as far as
  // its desired state allows (READY: prepared, not started).
  void AgentStep(const std::string& svc, Behaviour behaviour) {
    for (const Task& t : cluster_.TasksOf(svc)) {
      const TaskState s = t.status.state;
      if (s < TaskState::kAssigned || IsTerminal(s)) continue;
      if (t.desired_state > TaskState::kRunning) {
        cluster_.SetTaskState(t.id, TaskState::kShutdown);
        continue;
      }
      if (behaviour == Behaviour::kRejectsPrep) {
        cluster_.SetTaskState(t.id, TaskState::kRejected, "No such image: busybox:1");
        continue;
      }
      if (t.desired_state == TaskState::kReady) {
        if (s < TaskState::kReady) cluster_.SetTaskState(t.id, TaskState::kReady);
        continue;
      }
      if (s < TaskState::kRunning) {
        if (behaviour == Behaviour::kFailsStart) {
          cluster_.SetTaskState(t.id, TaskState::kFailed, "starting container failed");
        } else {
          cluster_.SetTaskState(t.id, TaskState::kRunning);
        }
      } else if (behaviour == Behaviour::kExits) {
        cluster_.SetTaskState(t.id, TaskState::kFailed, "task: non-zero exit (1)");
      }
    }
  }

  // Runs `span` of fake time in `step`s (passes until quiet, then an agent step), as the
  // issue's table measures: the IDs of every task the service had, with their creation
  // times, and the most tasks of one slot running at once.
  struct Seen {
    std::map<std::string, TimePoint> created;
    std::map<std::string, TimePoint> started;  // first seen with desired state RUNNING
    size_t most_running = 0;

    std::vector<TimePoint> StartTimes() const {
      std::vector<TimePoint> out;
      for (const auto& [id, at] : started) out.push_back(at);
      std::sort(out.begin(), out.end());
      return out;
    }
  };
  Seen Run(const std::string& svc, Behaviour behaviour, milliseconds span,
           milliseconds step = milliseconds(100)) {
    Seen seen;
    const TimePoint end = clock_.Now() + span;
    while (true) {
      for (int i = 0; i < 20 && cluster_.Pass(planner_) > 0; ++i) {
      }
      for (const Task& t : cluster_.TasksOf(svc)) {
        if (t.desired_state == TaskState::kRunning) seen.started.emplace(t.id, clock_.Now());
      }
      AgentStep(svc, behaviour);
      for (int i = 0; i < 20 && cluster_.Pass(planner_) > 0; ++i) {
      }
      std::map<uint64_t, size_t> running;
      for (const Task& t : cluster_.TasksOf(svc)) {
        seen.created.emplace(t.id, t.created_at);
        if (t.desired_state == TaskState::kRunning) seen.started.emplace(t.id, clock_.Now());
        if (t.status.state == TaskState::kRunning) ++running[t.slot];
      }
      for (const auto& [slot, n] : running) seen.most_running = std::max(seen.most_running, n);
      if (clock_.Now() + step > end) break;
      clock_.Advance(step);
    }
    return seen;
  }

  std::string UpdateStatusOf(const std::string& svc) {
    const auto& us = cluster_.service(svc).update_status;
    return us ? us->state : "";
  }

  FakeClock clock_;
  FakeCluster cluster_;
  Planner planner_;
};

// ---- restart delays ------------------------------------------------------------------------

TEST_F(LifecycleTest, TaskThatExitsRestartsOncePerRestartDelay) {
  // Issue 19, row 1: --restart-delay 3s, sh -c 'exit 1'. A task starts every 3 s + the time
  // it runs (here one 100 ms agent step): at 0, 3.1, 6.2 and 9.3 s. Docker, whose tasks take
  // longer to start and exit, made 4 tasks in 12 s.
  ServiceSpec spec = Replicated(1);
  spec.task_template.restart_policy = Policy(seconds(3));
  const std::string svc = cluster_.CreateService(spec);
  const Seen seen = Run(svc, Behaviour::kExits, seconds(12));
  const std::vector<TimePoint> starts = seen.StartTimes();
  ASSERT_EQ(starts.size(), 4u);
  for (size_t i = 1; i < starts.size(); ++i) {
    EXPECT_EQ(starts[i] - starts[i - 1], milliseconds(3100));
  }
  // Created: those four and the replacement waiting for 12.4 s.
  EXPECT_EQ(seen.created.size(), 5u);
  EXPECT_LE(seen.most_running, 1u);
}

TEST_F(LifecycleTest, TaskThatFailsToStartWaitsTheDefaultDelay) {
  // Issue 19, row 2: /no/such/binary with the default policy (5 s): a start every 5 s.
  const std::string svc = cluster_.CreateService(Replicated(1));
  const Seen seen = Run(svc, Behaviour::kFailsStart, seconds(15));
  const std::vector<TimePoint> starts = seen.StartTimes();
  ASSERT_EQ(starts.size(), 4u);  // at 0, 5, 10 and 15 s
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_EQ(starts[i] - starts[i - 1], seconds(5));
  EXPECT_EQ(seen.created.size(), 5u);  // and the one waiting for 20 s
  // None of them ever ran.
  for (const Task& t : cluster_.TasksOf(svc)) EXPECT_NE(t.status.state, TaskState::kRunning);
}

TEST_F(LifecycleTest, ReplacementIsHeldReadyUntilItsDelayPassed) {
  const std::string svc = cluster_.CreateService(Replicated(1));
  Run(svc, Behaviour::kFailsStart, milliseconds(100));
  std::vector<Task> runnable = cluster_.Runnable(svc);
  ASSERT_EQ(runnable.size(), 1u);
  const Task next = runnable[0];
  EXPECT_EQ(next.desired_state, TaskState::kReady);
  EXPECT_EQ(next.status.state, TaskState::kReady);  // prepared while it waits
  EXPECT_EQ(planner_.NextWake(), next.created_at + seconds(5));
  clock_.Advance(next.created_at + milliseconds(4999) - clock_.Now());
  cluster_.Pass(planner_);
  EXPECT_EQ(cluster_.task(next.id)->desired_state, TaskState::kReady);
  clock_.Advance(milliseconds(1));
  cluster_.Pass(planner_);
  EXPECT_EQ(cluster_.task(next.id)->desired_state, TaskState::kRunning);
}

TEST_F(LifecycleTest, TaskRejectedWhileItWaitsIsReplacedOnlyAfterItsDelay) {
  // A task that can never be prepared (no such image) is rejected before its delay ends:
  // its replacement comes once that delay has passed, not at once (swarmkit's waiting
  // restart), and it is never moved to RUNNING.
  const std::string svc = cluster_.CreateService(Replicated(1));
  const Seen seen = Run(svc, Behaviour::kRejectsPrep, seconds(15));
  std::vector<TimePoint> created;
  for (const auto& [id, at] : seen.created) created.push_back(at);
  std::sort(created.begin(), created.end());
  ASSERT_EQ(created.size(), 5u);  // the first task and its replacement at 0, then 5, 10, 15 s
  for (size_t i = 2; i < created.size(); ++i) {
    EXPECT_EQ(created[i] - created[i - 1], seconds(5));
  }
  EXPECT_EQ(seen.started.size(), 1u);  // only the first task was ever meant to run
}

TEST_F(LifecycleTest, RestartDelayZeroStillWaitsForTheAgent) {
  // No delay: one task per agent round trip, never two at once.
  ServiceSpec spec = Replicated(1);
  spec.task_template.restart_policy = Policy(seconds(0));
  const std::string svc = cluster_.CreateService(spec);
  const Seen seen = Run(svc, Behaviour::kExits, seconds(1));
  EXPECT_LE(seen.created.size(), 11u);
  EXPECT_LE(seen.most_running, 1u);
}

TEST_F(LifecycleTest, MaxAttemptsCountsTasksThatFailToStart) {
  ServiceSpec spec = Replicated(1);
  spec.task_template.restart_policy = Policy(seconds(1), /*max_attempts=*/2);
  const std::string svc = cluster_.CreateService(spec);
  const Seen seen = Run(svc, Behaviour::kFailsStart, seconds(30));
  EXPECT_EQ(seen.created.size(), 3u);  // the first try and two restarts
  EXPECT_TRUE(cluster_.Runnable(svc).empty());
}

TEST_F(LifecycleTest, WindowCountsOnlyRestartsWithinIt) {
  // MaxAttempts 2 within a 4 s window, 3 s delay: before each stop only one restart lies in
  // the window, so the restarts go on, one start every 3 s.
  ServiceSpec spec = Replicated(1);
  spec.task_template.restart_policy = Policy(seconds(3), 2, seconds(4));
  const std::string svc = cluster_.CreateService(spec);
  const Seen seen = Run(svc, Behaviour::kFailsStart, seconds(20));
  EXPECT_EQ(seen.started.size(), 7u);  // 0, 3, ..., 18 s
}

TEST_F(LifecycleTest, WindowLongerThanTheRestartsStopsThemAfterMaxAttempts) {
  ServiceSpec spec = Replicated(1);
  spec.task_template.restart_policy = Policy(seconds(3), 2, seconds(60));
  const std::string svc = cluster_.CreateService(spec);
  const Seen seen = Run(svc, Behaviour::kFailsStart, seconds(30));
  EXPECT_EQ(seen.created.size(), 3u);
  EXPECT_TRUE(cluster_.Runnable(svc).empty());
}

// ---- stop-first and update completion ------------------------------------------------------

TEST_F(LifecycleTest, StopFirstUpdateNeverRunsOldAndNewAtOnce) {
  // Issue 19, row 3: a stop-first update of 2 replicas; Docker never runs more than 2.
  cluster_.PutNode(ReadyNode("nb", "b"));
  const std::string svc = cluster_.CreateService(Replicated(2));
  Run(svc, Behaviour::kRuns, seconds(1));
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.env = {"A=1"}; });
  size_t most = 0;
  for (int i = 0; i < 100; ++i) {
    const Seen seen = Run(svc, Behaviour::kRuns, milliseconds(0));
    size_t running = 0;
    for (const Task& t : cluster_.TasksOf(svc)) {
      running += t.status.state == TaskState::kRunning ? 1 : 0;
    }
    most = std::max(most, running);
    EXPECT_LE(seen.most_running, 1u);
    clock_.Advance(milliseconds(100));
  }
  EXPECT_LE(most, 2u);
  for (const Task& t : cluster_.Runnable(svc)) {
    EXPECT_EQ(t.spec.container.env, std::vector<std::string>{"A=1"});
  }
}

TEST_F(LifecycleTest, UpdateCompletesOnlyWhenEveryTaskRunsTheNewSpecPastMonitor) {
  // Issue 19, row 4: `service update --env-add A=1` returns when both tasks run the new spec.
  const std::string svc = cluster_.CreateService(Replicated(2));
  Run(svc, Behaviour::kRuns, seconds(1));
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.env = {"A=1"}; });
  TimePoint last_new_running{};
  for (int i = 0; i < 200 && UpdateStatusOf(svc) != "completed"; ++i) {
    Run(svc, Behaviour::kRuns, milliseconds(0));
    size_t updated = 0;
    for (const Task& t : cluster_.Runnable(svc)) {
      if (t.spec.container.env.size() == 1 && t.status.state == TaskState::kRunning) {
        ++updated;
        last_new_running = std::max(last_new_running, t.status.timestamp);
      }
    }
    if (UpdateStatusOf(svc) == "completed") {
      EXPECT_EQ(updated, 2u);
    }
    clock_.Advance(milliseconds(100));
  }
  ASSERT_EQ(UpdateStatusOf(svc), "completed");
  const UpdateStatus us = *cluster_.service(svc).update_status;
  EXPECT_EQ(us.message, "update completed");
  EXPECT_GE(us.completed_at - last_new_running, seconds(5));
  EXPECT_LT(us.completed_at - last_new_running, seconds(5) + milliseconds(200));
}

TEST_F(LifecycleTest, NewTaskFailingWithinMonitorPausesTheUpdate) {
  const std::string svc = cluster_.CreateService(Replicated(1));
  Run(svc, Behaviour::kRuns, seconds(1));
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.env = {"A=1"}; });
  Run(svc, Behaviour::kRuns, seconds(1));
  ASSERT_EQ(UpdateStatusOf(svc), "updating");
  const Task fresh = cluster_.Runnable(svc).at(0);
  ASSERT_EQ(fresh.status.state, TaskState::kRunning);
  clock_.Advance(seconds(3));  // still within Monitor (5 s) of starting
  cluster_.SetTaskState(fresh.id, TaskState::kFailed, "task: non-zero exit (1)");
  cluster_.Pass(planner_);
  EXPECT_EQ(UpdateStatusOf(svc), "paused");
  EXPECT_EQ(cluster_.service(svc).update_status->message,
            "update paused due to failure or early termination of task " + fresh.id);
}

TEST_F(LifecycleTest, TaskFailingAfterMonitorDoesNotPause) {
  ServiceSpec spec = Replicated(2);
  UpdateConfig uc;
  uc.monitor_ns = seconds(2).count();
  spec.update_config = uc;
  const std::string svc = cluster_.CreateService(spec);
  Run(svc, Behaviour::kRuns, seconds(1));
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.env = {"A=1"}; });
  Run(svc, Behaviour::kRuns, milliseconds(300));
  ASSERT_EQ(UpdateStatusOf(svc), "updating");
  // Slot 1's new task ran for more than Monitor, then fails: not the update's fault.
  clock_.Advance(seconds(3));
  Task one;
  for (const Task& t : cluster_.Runnable(svc)) {
    if (t.spec.container.env.size() == 1 && t.status.state == TaskState::kRunning) one = t;
  }
  ASSERT_FALSE(one.id.empty());
  cluster_.SetTaskState(one.id, TaskState::kFailed, "task: non-zero exit (1)");
  Run(svc, Behaviour::kRuns, seconds(10));
  EXPECT_EQ(UpdateStatusOf(svc), "completed");
}

TEST_F(LifecycleTest, FailureActionContinueCompletes) {
  ServiceSpec spec = Replicated(2);
  UpdateConfig uc;
  uc.failure_action = "continue";
  spec.update_config = uc;
  const std::string svc = cluster_.CreateService(spec);
  Run(svc, Behaviour::kRuns, seconds(1));
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.env = {"A=1"}; });
  // Every new task fails to start: the update goes on through every slot and completes.
  Run(svc, Behaviour::kFailsStart, seconds(30));
  EXPECT_EQ(UpdateStatusOf(svc), "completed");
  for (const Task& t : cluster_.Runnable(svc)) {
    EXPECT_EQ(t.spec.container.env, std::vector<std::string>{"A=1"});
  }
}

TEST_F(LifecycleTest, FailureActionRollbackRestoresThePreviousSpec) {
  ServiceSpec spec = Replicated(2);
  UpdateConfig uc;
  uc.failure_action = "rollback";
  spec.update_config = uc;
  const std::string svc = cluster_.CreateService(spec);
  Run(svc, Behaviour::kRuns, seconds(1));
  const int64_t first_version = cluster_.service(svc).spec_version;
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.image = "bad:1"; });
  // The new task cannot be prepared.
  std::string failed;
  for (int i = 0; i < 50 && UpdateStatusOf(svc) != "rollback_started"; ++i) {
    for (int p = 0; p < 20 && cluster_.Pass(planner_) > 0; ++p) {
    }
    for (const Task& t : cluster_.TasksOf(svc)) {
      if (t.spec.container.image == "bad:1" && !IsTerminal(t.status.state) &&
          t.status.state >= TaskState::kAssigned) {
        cluster_.SetTaskState(t.id, TaskState::kRejected, "No such image: bad:1");
        if (failed.empty()) failed = t.id;
      }
    }
    AgentStep(svc, Behaviour::kRuns);
    clock_.Advance(milliseconds(100));
  }
  ASSERT_EQ(UpdateStatusOf(svc), "rollback_started");
  const Service& s = cluster_.service(svc);
  EXPECT_EQ(s.update_status->message,
            "update rolled back due to failure or early termination of task " + failed);
  EXPECT_EQ(s.spec.task_template.container.image, "busybox:1");
  EXPECT_EQ(s.spec_version, first_version);
  EXPECT_FALSE(s.previous_spec.has_value());
  // The rollback replaces the failed slot and completes after Monitor.
  Run(svc, Behaviour::kRuns, seconds(20));
  EXPECT_EQ(UpdateStatusOf(svc), "rollback_completed");
  EXPECT_EQ(cluster_.service(svc).update_status->message, "rollback completed");
  const std::vector<Task> runnable = cluster_.Runnable(svc);
  ASSERT_EQ(runnable.size(), 2u);
  for (const Task& t : runnable) {
    EXPECT_EQ(t.spec.container.image, "busybox:1");
    EXPECT_EQ(t.status.state, TaskState::kRunning);
  }
}

TEST_F(LifecycleTest, RollbackThatFailsPauses) {
  ServiceSpec spec = Replicated(1);
  UpdateConfig uc;
  uc.failure_action = "rollback";
  spec.update_config = uc;
  spec.rollback_config = uc;  // a failing rollback "rolls back": it pauses instead
  const std::string svc = cluster_.CreateService(spec);
  Run(svc, Behaviour::kRuns, seconds(1));
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.env = {"A=1"}; });
  Run(svc, Behaviour::kRejectsPrep, seconds(2));
  EXPECT_EQ(UpdateStatusOf(svc), "rollback_paused");
  EXPECT_EQ(cluster_.service(svc).update_status->message.rfind(
                "rollback paused due to failure or early termination of task ", 0),
            0u);
}

TEST_F(LifecycleTest, ManualRollbackEndsRollbackCompleted) {
  const std::string svc = cluster_.CreateService(Replicated(2));
  Run(svc, Behaviour::kRuns, seconds(1));
  cluster_.UpdateService(svc, [](ServiceSpec& s) { s.task_template.container.env = {"A=1"}; });
  Run(svc, Behaviour::kRuns, seconds(10));
  ASSERT_EQ(UpdateStatusOf(svc), "completed");
  cluster_.RollbackService(svc);
  Run(svc, Behaviour::kRuns, seconds(1));
  EXPECT_EQ(UpdateStatusOf(svc), "rollback_started");  // not "updating": it is a rollback
  Run(svc, Behaviour::kRuns, seconds(10));
  EXPECT_EQ(UpdateStatusOf(svc), "rollback_completed");
  for (const Task& t : cluster_.Runnable(svc)) EXPECT_TRUE(t.spec.container.env.empty());
}

TEST_F(LifecycleTest, NewServiceAndRestartsWriteNoUpdateStatus) {
  const std::string svc = cluster_.CreateService(Replicated(2));
  Run(svc, Behaviour::kExits, seconds(12));
  EXPECT_FALSE(cluster_.service(svc).update_status.has_value());
}

// ---- task history --------------------------------------------------------------------------

TEST_F(LifecycleTest, CrashLoopKeepsAtMostTheHistoryLimitPerSlot) {
  ServiceSpec spec = Replicated(3);
  spec.task_template.restart_policy = Policy(seconds(0));
  const std::string svc = cluster_.CreateService(spec);
  const Seen seen = Run(svc, Behaviour::kExits, seconds(60));
  EXPECT_GT(seen.created.size(), 300u);
  // 5 per slot (TaskHistoryRetentionLimit), the runnable one included.
  EXPECT_LE(cluster_.TasksOf(svc).size(), 15u);
}

}  // namespace
}  // namespace capsule::orchestrator
