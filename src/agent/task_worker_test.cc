// TaskWorker against a fake Executor: the state sequence it reports, secrets handed to
// Prepare, rejection, exits, shutdown, removal and re-adoption after a restart.
#include "agent/task_worker.h"

#include <gtest/gtest.h>

#include <thread>

namespace capsule::agent {
namespace {

using std::chrono::milliseconds;

class FakeExecutor : public Executor {
 public:
  struct Entry {
    RunStatus status;
    TaskRun run;
    std::map<std::string, std::string> secret_data;  // target → data seen at Prepare
    bool stopped = false;
  };

  Status Prepare(const TaskRun& run) override {
    std::lock_guard<std::mutex> lock(mu);
    if (!images.count(run.image)) return absl::NotFoundError("No such image: " + run.image);
    Entry e;
    e.run = run;
    for (const SecretFile& f : run.secrets) e.secret_data[f.target] = std::string(f.data->view());
    e.run.secrets.clear();  // the pointers are only valid during Prepare
    e.status.container_id = "c-" + run.task_id;
    tasks[run.task_id] = std::move(e);
    calls.push_back("prepare " + run.task_id);
    return absl::OkStatus();
  }
  Status Start(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = tasks.find(id);
    if (it == tasks.end()) return absl::NotFoundError("no task " + id);
    it->second.status.state = RunStatus::State::kRunning;
    it->second.status.pid = 4242;
    calls.push_back("start " + id);
    return absl::OkStatus();
  }
  StatusOr<RunStatus> Inspect(const std::string& id) const override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = tasks.find(id);
    if (it == tasks.end()) return absl::NotFoundError("no task " + id);
    return it->second.status;
  }
  Status Stop(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = tasks.find(id);
    if (it == tasks.end()) return absl::NotFoundError("no task " + id);
    if (it->second.status.state == RunStatus::State::kRunning) {
      it->second.status.state = RunStatus::State::kExited;
      it->second.status.exit_code = 143;
    }
    it->second.stopped = true;
    calls.push_back("stop " + id);
    return absl::OkStatus();
  }
  Status Remove(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu);
    if (tasks.erase(id) > 0) calls.push_back("remove " + id);
    return absl::OkStatus();
  }
  Status RemoveLogs(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu);
    calls.push_back("removelogs " + id);
    return absl::OkStatus();
  }
  std::vector<std::string> Known() const override {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> ids;
    for (const auto& [id, e] : tasks) ids.push_back(id);
    return ids;
  }

  void Exit(const std::string& id, int64_t code) {
    std::lock_guard<std::mutex> lock(mu);
    tasks[id].status.state = RunStatus::State::kExited;
    tasks[id].status.exit_code = code;
  }
  bool Has(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return tasks.count(id) > 0;
  }
  bool Called(const std::string& call) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }
  std::optional<Entry> Get(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = tasks.find(id);
    if (it == tasks.end()) return std::nullopt;
    return it->second;
  }

  mutable std::mutex mu;
  std::set<std::string> images{"busybox:1"};
  std::map<std::string, Entry> tasks;
  std::vector<std::string> calls;
};

// Records every report; settles them at once.
class RecordingReporter : public StatusReporter {
 public:
  Status Report(const std::vector<TaskStatusReport>& batch) override {
    std::lock_guard<std::mutex> lock(mu);
    for (const TaskStatusReport& r : batch) {
      auto& seq = states[r.task_id];
      if (seq.empty() || seq.back() != r.status.state) seq.push_back(r.status.state);
      last[r.task_id] = r.status;
    }
    return absl::OkStatus();
  }
  std::optional<TaskStatus> Last(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = last.find(id);
    if (it == last.end()) return std::nullopt;
    return it->second;
  }
  std::vector<TaskState> States(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return states[id];
  }
  std::mutex mu;
  std::map<std::string, std::vector<TaskState>> states;
  std::map<std::string, TaskStatus> last;
};

template <typename Pred>
bool Eventually(Pred pred) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return pred();
}

Task MakeTask(const std::string& id, TaskState state = TaskState::kAssigned,
              TaskState desired = TaskState::kRunning) {
  Task t;
  t.id = id;
  t.service_id = "svc1";
  t.node_id = "node1";
  t.slot = 1;
  t.spec.container.image = "busybox:1";
  t.status.state = state;
  t.desired_state = desired;
  return t;
}

SecretReference Ref(const std::string& id, const std::string& target, const std::string& uid,
                    const std::string& gid, uint32_t mode) {
  SecretReference r;
  r.secret_id = id;
  r.secret_name = "name-" + id;
  r.has_file = true;
  r.target = target;
  r.uid = uid;
  r.gid = gid;
  r.mode = mode;
  return r;
}

class TaskWorkerTest : public ::testing::Test {
 protected:
  void MakeWorker(TaskWorkerOptions opts = {milliseconds(10), milliseconds(300)}) {
    queue_ = std::make_unique<StatusQueue>(reporter_, milliseconds(10));
    worker_ = std::make_unique<TaskWorker>(executor_, cache_, *queue_, RealClock(), opts);
    worker_->Start();
  }
  void TearDown() override {
    if (worker_) worker_->Stop();
    if (queue_) queue_->Stop();
  }
  void Full(std::vector<Task> tasks) {
    std::vector<TaskAssignment> as;
    for (Task& t : tasks) as.push_back({std::move(t), 1});
    worker_->Apply(true, std::move(as), {});
  }
  void Change(Task t) { worker_->Apply(false, {{std::move(t), 2}}, {}); }
  bool ReachesState(const std::string& id, TaskState s) {
    return Eventually([&] {
      auto last = reporter_.Last(id);
      return last && last->state == s;
    });
  }

  FakeExecutor executor_;
  SecretCache cache_;
  RecordingReporter reporter_;
  std::unique_ptr<StatusQueue> queue_;
  std::unique_ptr<TaskWorker> worker_;
};

TEST_F(TaskWorkerTest, NewTaskGoesToRunningWithItsSecrets) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("s3cr3t")));
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "password", "2000", "3000", 0400)};
  t.spec.container.env = {"A=1"};
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  auto last = reporter_.Last("t1");
  EXPECT_EQ(last->message, "started");
  ASSERT_TRUE(last->container.has_value());
  EXPECT_EQ(last->container->container_id, "c-t1");
  EXPECT_EQ(last->container->pid, 4242);
  auto e = executor_.Get("t1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->secret_data["password"], "s3cr3t");
  EXPECT_EQ(e->run.env, std::vector<std::string>{"A=1"});
  EXPECT_EQ(e->run.image, "busybox:1");
  EXPECT_EQ(worker_->TaskIds(), std::vector<std::string>{"t1"});
  // Reports are coalesced, but never go backwards and end at RUNNING.
  auto states = reporter_.States("t1");
  EXPECT_TRUE(std::is_sorted(states.begin(), states.end()));
  EXPECT_GE(states.front(), TaskState::kAccepted);
}

TEST_F(TaskWorkerTest, DesiredReadyIsPreparedButNotStarted) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("s3cr3t")));
  Task t = MakeTask("t1", TaskState::kAssigned, TaskState::kReady);
  t.spec.container.secrets = {Ref("s1", "password", "0", "0", 0400)};
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kReady));
  EXPECT_EQ(reporter_.Last("t1")->message, "prepared");
  EXPECT_TRUE(executor_.Called("prepare t1"));
  EXPECT_EQ(executor_.Get("t1")->secret_data["password"], "s3cr3t");
  // Many poll intervals later it is still only prepared.
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(executor_.Called("start t1"));
  EXPECT_EQ(reporter_.Last("t1")->state, TaskState::kReady);
  // The manager moves it to desired RUNNING (its restart delay passed): it starts, once.
  t.status.state = TaskState::kReady;
  t.desired_state = TaskState::kRunning;
  Change(t);
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  EXPECT_TRUE(executor_.Called("start t1"));
  std::lock_guard<std::mutex> lock(executor_.mu);
  EXPECT_EQ(std::count(executor_.calls.begin(), executor_.calls.end(), "prepare t1"), 1);
}

TEST_F(TaskWorkerTest, PreparedTaskToldToShutDownNeverStarts) {
  MakeWorker();
  Full({MakeTask("t1", TaskState::kAssigned, TaskState::kReady)});
  ASSERT_TRUE(ReachesState("t1", TaskState::kReady));
  Change(MakeTask("t1", TaskState::kReady, TaskState::kShutdown));
  ASSERT_TRUE(ReachesState("t1", TaskState::kShutdown));
  EXPECT_TRUE(Eventually([&] { return !executor_.Has("t1"); }));  // container and tmpfs gone
  EXPECT_FALSE(executor_.Called("start t1"));
}

TEST_F(TaskWorkerTest, StopFirstReplacementStartsOnlyWhenTheManagerSaysSo) {
  // Stop-first update on one node: the old task runs; its replacement arrives desired READY.
  MakeWorker();
  Full({MakeTask("old")});
  ASSERT_TRUE(ReachesState("old", TaskState::kRunning));
  Task fresh = MakeTask("new", TaskState::kAssigned, TaskState::kReady);
  Change(fresh);
  ASSERT_TRUE(ReachesState("new", TaskState::kReady));
  // The old task is told to stop; the new one stays prepared meanwhile.
  Change(MakeTask("old", TaskState::kRunning, TaskState::kShutdown));
  ASSERT_TRUE(ReachesState("old", TaskState::kShutdown));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(executor_.Called("start new"));
  // Only once the manager saw the old task stop does it move the new one to RUNNING.
  fresh.status.state = TaskState::kReady;
  fresh.desired_state = TaskState::kRunning;
  Change(fresh);
  ASSERT_TRUE(ReachesState("new", TaskState::kRunning));
  std::lock_guard<std::mutex> lock(executor_.mu);
  const auto stop = std::find(executor_.calls.begin(), executor_.calls.end(), "stop old");
  const auto start = std::find(executor_.calls.begin(), executor_.calls.end(), "start new");
  ASSERT_NE(stop, executor_.calls.end());
  ASSERT_NE(start, executor_.calls.end());
  EXPECT_LT(stop - executor_.calls.begin(), start - executor_.calls.begin());
}

TEST_F(TaskWorkerTest, StartFailureFailsOnlyAfterDesiredRunning) {
  struct FailingStart : FakeExecutor {
    Status Start(const std::string& id) override {
      std::lock_guard<std::mutex> lock(mu);
      calls.push_back("start " + id);
      return absl::UnknownError("starting container failed: exec: \"/no/such/binary\"");
    }
  } failing;
  StatusQueue queue(reporter_, milliseconds(10));
  TaskWorker worker(failing, cache_, queue, RealClock(), {milliseconds(10), milliseconds(300)});
  worker.Start();
  Task t = MakeTask("t1", TaskState::kAssigned, TaskState::kReady);
  worker.Apply(true, {{t, 1}}, {});
  ASSERT_TRUE(ReachesState("t1", TaskState::kReady));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(failing.Called("start t1"));
  t.status.state = TaskState::kReady;
  t.desired_state = TaskState::kRunning;
  worker.Apply(false, {{t, 2}}, {});
  ASSERT_TRUE(ReachesState("t1", TaskState::kFailed));
  EXPECT_EQ(reporter_.Last("t1")->err, "starting container failed: exec: \"/no/such/binary\"");
  worker.Stop();
  queue.Stop();
}

TEST_F(TaskWorkerTest, SecretFilesCarryParsedUidGidMode) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("x")));
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "/etc/app/key", "2000", "3000", 0400)};
  // Capture the SecretFile fields as Prepare sees them.
  struct Capturing : FakeExecutor {
    Status Prepare(const TaskRun& run) override {
      std::lock_guard<std::mutex> lock(seen_mu);
      for (const SecretFile& f : run.secrets) seen.push_back(f);
      seen_data_ok = !run.secrets.empty() && run.secrets[0].data != nullptr &&
                     run.secrets[0].data->view() == "x";
      return FakeExecutor::Prepare(run);
    }
    std::mutex seen_mu;
    std::vector<SecretFile> seen;
    bool seen_data_ok = false;
  } capturing;
  StatusQueue queue(reporter_, milliseconds(10));
  TaskWorker worker(capturing, cache_, queue, RealClock(), {milliseconds(10), milliseconds(300)});
  worker.Start();
  worker.Apply(true, {{t, 1}}, {});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  worker.Stop();
  queue.Stop();
  std::lock_guard<std::mutex> lock(capturing.seen_mu);
  ASSERT_EQ(capturing.seen.size(), 1u);
  EXPECT_EQ(capturing.seen[0].secret_id, "s1");
  EXPECT_EQ(capturing.seen[0].target, "/etc/app/key");
  EXPECT_EQ(capturing.seen[0].uid, 2000u);
  EXPECT_EQ(capturing.seen[0].gid, 3000u);
  EXPECT_EQ(capturing.seen[0].mode, 0400u);
  EXPECT_TRUE(capturing.seen_data_ok);
}

TEST_F(TaskWorkerTest, MissingImageRejectsWithDockersMessage) {
  MakeWorker();
  Task t = MakeTask("t1");
  t.spec.container.image = "nosuch:1";
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRejected));
  EXPECT_EQ(reporter_.Last("t1")->err, "No such image: nosuch:1");
  EXPECT_FALSE(executor_.Has("t1"));
}

TEST_F(TaskWorkerTest, BadUidRejects) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("x")));
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "pw", "root", "0", 0444)};
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRejected));
  EXPECT_EQ(reporter_.Last("t1")->err, "invalid secret uid \"root\"");
}

TEST_F(TaskWorkerTest, SecretThatNeverArrivesRejects) {
  MakeWorker();
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s9", "pw", "0", "0", 0444)};
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRejected));
  EXPECT_EQ(reporter_.Last("t1")->err, "secret name-s9 is not available on this node");
}

TEST_F(TaskWorkerTest, SecretArrivingLateStillStarts) {
  MakeWorker();
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "pw", "0", "0", 0444)};
  Full({t});
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(executor_.Has("t1"));
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("late")));
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
}

TEST_F(TaskWorkerTest, ExitZeroCompletesNonZeroFails) {
  MakeWorker();
  Full({MakeTask("t1"), MakeTask("t2")});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  ASSERT_TRUE(ReachesState("t2", TaskState::kRunning));
  executor_.Exit("t1", 0);
  executor_.Exit("t2", 3);
  ASSERT_TRUE(ReachesState("t1", TaskState::kComplete));
  ASSERT_TRUE(ReachesState("t2", TaskState::kFailed));
  EXPECT_EQ(reporter_.Last("t1")->message, "finished");
  EXPECT_EQ(reporter_.Last("t1")->container->exit_code, 0);
  EXPECT_EQ(reporter_.Last("t2")->err, "task: non-zero exit (3)");
  EXPECT_EQ(reporter_.Last("t2")->container->exit_code, 3);
  // Terminal tasks lose their container (and secret tmpfs) at once; logs stay.
  EXPECT_TRUE(Eventually([&] { return !executor_.Has("t1") && !executor_.Has("t2"); }));
  EXPECT_FALSE(executor_.Called("removelogs t1"));
}

TEST_F(TaskWorkerTest, DesiredShutdownStopsAndReportsShutdown) {
  MakeWorker();
  Full({MakeTask("t1")});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  Change(MakeTask("t1", TaskState::kRunning, TaskState::kShutdown));
  ASSERT_TRUE(ReachesState("t1", TaskState::kShutdown));
  EXPECT_EQ(reporter_.Last("t1")->message, "shutdown");
  EXPECT_TRUE(executor_.Called("stop t1"));
  EXPECT_TRUE(Eventually([&] { return !executor_.Has("t1"); }));
  EXPECT_EQ(worker_->TaskIds(), std::vector<std::string>{"t1"});  // still assigned
}

TEST_F(TaskWorkerTest, TaskGoneFromAssignmentsIsStoppedRemovedAndLogsDropped) {
  MakeWorker();
  Full({MakeTask("t1"), MakeTask("t2")});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  ASSERT_TRUE(ReachesState("t2", TaskState::kRunning));
  worker_->Apply(false, {}, {"t1"});
  EXPECT_TRUE(Eventually([&] { return executor_.Called("removelogs t1"); }));
  EXPECT_TRUE(executor_.Called("stop t1"));
  EXPECT_FALSE(executor_.Has("t1"));
  // A complete set without t2 removes it too.
  Full({});
  EXPECT_TRUE(Eventually([&] { return executor_.Called("removelogs t2"); }));
  EXPECT_TRUE(worker_->TaskIds().empty());
}

TEST_F(TaskWorkerTest, TaskNotYetAssignedIsNotStarted) {
  MakeWorker();
  Full({MakeTask("t1", TaskState::kPending)});
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(executor_.Has("t1"));
  EXPECT_FALSE(reporter_.Last("t1").has_value());
}

TEST_F(TaskWorkerTest, TerminalTaskInAssignmentsIsLeftAlone) {
  MakeWorker();
  Full({MakeTask("t1", TaskState::kFailed)});
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_FALSE(executor_.Called("prepare t1"));
  EXPECT_FALSE(reporter_.Last("t1").has_value());
}

TEST_F(TaskWorkerTest, RestartReadoptsAssignedTasksAndRemovesOrphans) {
  // A previous agent left: t1 running (still assigned), t2 running (no longer assigned),
  // t3 prepared but never started (still assigned).
  for (const char* id : {"t1", "t2", "t3"}) {
    FakeExecutor::Entry e;
    e.status.container_id = std::string("c-") + id;
    e.status.state = RunStatus::State::kRunning;
    e.status.pid = 77;
    executor_.tasks[id] = e;
  }
  executor_.tasks["t3"].status.state = RunStatus::State::kCreated;
  MakeWorker();
  Full({MakeTask("t1", TaskState::kRunning), MakeTask("t3", TaskState::kPreparing)});
  EXPECT_TRUE(Eventually([&] { return executor_.Called("removelogs t2"); }));
  EXPECT_FALSE(executor_.Has("t2"));
  // t3 was removed and started again from a clean slate.
  ASSERT_TRUE(ReachesState("t3", TaskState::kRunning));
  EXPECT_TRUE(executor_.Called("remove t3"));
  EXPECT_TRUE(executor_.Called("prepare t3"));
  // t1 is kept: never prepared again, never stopped; its exit is still noticed.
  EXPECT_FALSE(executor_.Called("prepare t1"));
  EXPECT_FALSE(executor_.Called("stop t1"));
  executor_.Exit("t1", 0);
  ASSERT_TRUE(ReachesState("t1", TaskState::kComplete));
}

TEST_F(TaskWorkerTest, AdoptedTaskTheManagerOrphanedIsStoppedAndRemoved) {
  FakeExecutor::Entry e;
  e.status.container_id = "c-t1";
  e.status.state = RunStatus::State::kRunning;
  executor_.tasks["t1"] = e;
  MakeWorker();
  // The node was Down: the manager rescheduled the task and marked it orphaned.
  Full({MakeTask("t1", TaskState::kOrphaned, TaskState::kShutdown)});
  EXPECT_TRUE(Eventually([&] { return !executor_.Has("t1"); }));
  EXPECT_TRUE(executor_.Called("stop t1"));
  EXPECT_EQ(worker_->TaskIds(), std::vector<std::string>{"t1"});  // until the store drops it
}

TEST_F(TaskWorkerTest, RunningTaskWithoutContainerFails) {
  MakeWorker();
  Full({MakeTask("t1", TaskState::kRunning)});
  ASSERT_TRUE(ReachesState("t1", TaskState::kFailed));
  EXPECT_EQ(reporter_.Last("t1")->err, "task: container is gone");
}

TEST_F(TaskWorkerTest, StopLeavesContainersRunning) {
  MakeWorker();
  Full({MakeTask("t1")});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  worker_->Stop();
  EXPECT_TRUE(executor_.Has("t1"));
  EXPECT_FALSE(executor_.Called("stop t1"));
}

TEST(ParseIdTest, Decimal) {
  EXPECT_EQ(*ParseId("0", "uid"), 0u);
  EXPECT_EQ(*ParseId("4294967295", "uid"), 4294967295u);
  EXPECT_FALSE(ParseId("", "uid").ok());
  EXPECT_FALSE(ParseId("-1", "uid").ok());
  EXPECT_FALSE(ParseId("4294967296", "uid").ok());
  EXPECT_FALSE(ParseId("12a", "gid").ok());
}

}  // namespace
}  // namespace capsule::agent
