// TaskWorker against a fake Executor: the state sequence it reports, secrets handed to
// Prepare, rejection, exits, shutdown, removal and re-adoption after a restart. What happens
// on the poll and the secret wait is stepped with a fake clock.
#include "agent/task_worker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "testing/eventually.h"
#include "testing/fake_clock.h"
#include "testing/fake_executor.h"

namespace capsule::agent {
namespace {

using ::capsule::testing::Eventually;
using ::capsule::testing::FakeClock;
using ::capsule::testing::FakeExecutor;
using std::chrono::milliseconds;

constexpr milliseconds kPoll{10};
constexpr milliseconds kSecretWait{300};

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
  // On the real clock: each task's thread polls by itself.
  void MakeWorker() { MakeWorkerOn(RealClock()); }
  // On the fake clock: after its first step a task's thread only steps again when it is told
  // (a change) or the clock reaches its next poll.
  void MakeSteppedWorker() { MakeWorkerOn(clock_); }
  void MakeWorkerOn(const Clock& clock) {
    queue_ = std::make_unique<StatusQueue>(reporter_, milliseconds(10));
    worker_ = std::make_unique<TaskWorker>(executor_, cache_, *queue_, clock,
                                           TaskWorkerOptions{kPoll, kSecretWait});
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
  // Stepped worker with one task: waits until the task's thread has finished its step (it
  // waits on the clock for the next poll) and the reports of that step have been delivered.
  bool AwaitStep() { return clock_.AwaitWaiters(1) && queue_->WaitIdle(std::chrono::seconds(10)); }
  std::optional<TaskState> LastState(const std::string& id) {
    std::optional<TaskStatus> last = reporter_.Last(id);
    if (!last) return std::nullopt;
    return last->state;
  }

  FakeClock clock_;
  FakeExecutor executor_{clock_};
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

// Templated secrets (Templating {Name: "golang"}): expanded per task before Prepare writes them.
class TemplatedSecretTest : public TaskWorkerTest {
 protected:
  void Assign(Task t) {
    std::vector<TaskAssignment> as;
    as.push_back({std::move(t), 1, TaskService{"web", {{"tier", "front"}}}});
    worker_->Apply(true, std::move(as), {});
  }
  Task TemplatedTask() {
    Task t = MakeTask("t1");
    t.slot = 2;
    t.spec.container.env = {"X=ex"};
    t.spec.container.secrets = {Ref("s1", "rendered", "0", "0", 0400),
                                Ref("s2", "pw", "0", "0", 0400)};
    return t;
  }
};

TEST_F(TemplatedSecretTest, TemplatedSecretIsExpandedForTheTask) {
  MakeWorker();
  cache_.Put("s1",
             SecretBytes::CopyFrom(std::string_view(
                 "{{.Service.Name}}-{{.Task.Slot}}-{{env \"X\"}}-{{.Service.Labels.tier}}-"
                 "{{secret \"pw\"}}-{{.Task.Name}}-[{{.Node.Hostname}}]")),
             "golang");
  cache_.Put("s2", SecretBytes::CopyFrom(std::string_view("hunter2")));
  Assign(TemplatedTask());
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  auto e = executor_.Get("t1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->secret_data["rendered"], "web-2-ex-front-hunter2-web.2.t1-[]");
  EXPECT_EQ(e->secret_data["pw"], "hunter2");
  // The cache keeps the template: another task expands it for itself.
  EXPECT_EQ(cache_.Get("s1")->view().substr(0, 17), "{{.Service.Name}}");
}

TEST_F(TemplatedSecretTest, SecretWithoutTemplatingIsWrittenAsIs) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("{{.Service.Name}}")));
  cache_.Put("s2", SecretBytes::CopyFrom(std::string_view("x")));
  Assign(TemplatedTask());
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  EXPECT_EQ(executor_.Get("t1")->secret_data["rendered"], "{{.Service.Name}}");
}

TEST_F(TemplatedSecretTest, BadTemplateFailsTheTaskWithDockersMessage) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("a {{.Nope}}")), "golang");
  cache_.Put("s2", SecretBytes::CopyFrom(std::string_view("x")));
  Assign(TemplatedTask());
  ASSERT_TRUE(ReachesState("t1", TaskState::kFailed));
  EXPECT_EQ(reporter_.Last("t1")->err,
            "starting container failed: unable to get secret from secret store: failed to "
            "expand templated secret s1: template: expansion:1:4: executing \"expansion\" at "
            "<.Nope>: can't evaluate field Nope in type *template.PayloadContext");
  EXPECT_EQ(reporter_.Last("t1")->message, "starting");
  EXPECT_FALSE(executor_.Called("prepare t1"));
  EXPECT_FALSE(executor_.Called("start t1"));
}

TEST_F(TemplatedSecretTest, UnknownTemplateDriverFailsTheTask) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("x")), "mustache");
  cache_.Put("s2", SecretBytes::CopyFrom(std::string_view("x")));
  Assign(TemplatedTask());
  ASSERT_TRUE(ReachesState("t1", TaskState::kFailed));
  EXPECT_EQ(reporter_.Last("t1")->err,
            "starting container failed: unable to get secret from secret store: failed to "
            "expand templated secret s1: unrecognized template type");
}

TEST_F(TemplatedSecretTest, SecretTheTaskDoesNotReferenceIsNotExpanded) {
  MakeWorker();
  // "s3" is on this node (another task needs it), but this task does not reference it.
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("{{secret \"other\"}}")), "golang");
  cache_.Put("s2", SecretBytes::CopyFrom(std::string_view("x")));
  cache_.Put("s3", SecretBytes::CopyFrom(std::string_view("not-yours")));
  Assign(TemplatedTask());
  ASSERT_TRUE(ReachesState("t1", TaskState::kFailed));
  EXPECT_EQ(reporter_.Last("t1")->err,
            "starting container failed: unable to get secret from secret store: failed to "
            "expand templated secret s1: template: expansion:1:2: executing \"expansion\" at "
            "<secret \"other\">: error calling secret: secret target other not found");
}

TEST_F(TemplatedSecretTest, SpecEnvAndHostnameAreExpandedWithTheNode) {
  queue_ = std::make_unique<StatusQueue>(reporter_, milliseconds(10));
  TaskWorkerOptions o{kPoll, kSecretWait};
  o.node = tmpl::SwarmNode{"host-a", "linux", "x86_64"};
  worker_ = std::make_unique<TaskWorker>(executor_, cache_, *queue_, RealClock(), o);
  worker_->Start();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("x")));
  cache_.Put("s2", SecretBytes::CopyFrom(std::string_view("x")));
  Task t = TemplatedTask();
  t.spec.container.env = {"WHO={{.Service.Name}}.{{.Task.Slot}}@{{.Node.Hostname}}", "RAW"};
  t.spec.container.hostname = "{{.Service.Labels.tier}}-{{.Task.Slot}}";
  Assign(t);
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  auto e = executor_.Get("t1");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->run.env, (std::vector<std::string>{"WHO=web.2@host-a", "RAW"}));
  EXPECT_EQ(e->run.hostname, "front-2");
}

TEST_F(TemplatedSecretTest, BadSpecTemplateRejectsTheTaskAsSwarmkit) {
  MakeWorker();
  Task t = TemplatedTask();
  t.spec.container.secrets.clear();
  t.spec.container.env = {"A={{.Nope}}"};
  Assign(t);
  ASSERT_TRUE(ReachesState("t1", TaskState::kRejected));
  EXPECT_EQ(reporter_.Last("t1")->message, "resolving controller failed");
  EXPECT_EQ(reporter_.Last("t1")->err,
            "expanding env failed: expanding env \"A={{.Nope}}\": template: expansion:1:2: "
            "executing \"expansion\" at <.Nope>: can't evaluate field Nope in type "
            "*template.Context");
  EXPECT_FALSE(executor_.Called("prepare t1"));
}

TEST_F(TaskWorkerTest, DesiredReadyIsPreparedButNotStarted) {
  MakeSteppedWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("s3cr3t")));
  Task t = MakeTask("t1", TaskState::kAssigned, TaskState::kReady);
  t.spec.container.secrets = {Ref("s1", "password", "0", "0", 0400)};
  Full({t});
  ASSERT_TRUE(AwaitStep());
  EXPECT_EQ(LastState("t1"), TaskState::kReady);
  EXPECT_EQ(reporter_.Last("t1")->message, "prepared");
  EXPECT_TRUE(executor_.Called("prepare t1"));
  EXPECT_EQ(executor_.Get("t1")->secret_data["password"], "s3cr3t");
  // Poll after poll, it is still only prepared.
  for (int poll = 0; poll < 3; ++poll) {
    clock_.Advance(kPoll);
    ASSERT_TRUE(AwaitStep());
    EXPECT_FALSE(executor_.Called("start t1"));
    EXPECT_EQ(LastState("t1"), TaskState::kReady);
  }
  // The manager moves it to desired RUNNING (its restart delay passed): it starts, once.
  t.status.state = TaskState::kReady;
  t.desired_state = TaskState::kRunning;
  Change(t);
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  EXPECT_TRUE(executor_.Called("start t1"));
  const std::vector<std::string> calls = executor_.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "prepare t1"), 1);
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
  // (On the real clock each task polls by itself; nothing the old task's stop does starts it.)
  EXPECT_TRUE(Eventually([&] { return executor_.Called("stop old"); }));
  EXPECT_FALSE(executor_.Called("start new"));
  EXPECT_EQ(LastState("new"), TaskState::kReady);
  // Only once the manager saw the old task stop does it move the new one to RUNNING.
  fresh.status.state = TaskState::kReady;
  fresh.desired_state = TaskState::kRunning;
  Change(fresh);
  ASSERT_TRUE(ReachesState("new", TaskState::kRunning));
  const std::vector<std::string> calls = executor_.calls();
  const auto stop = std::find(calls.begin(), calls.end(), "stop old");
  const auto start = std::find(calls.begin(), calls.end(), "start new");
  ASSERT_NE(stop, calls.end());
  ASSERT_NE(start, calls.end());
  EXPECT_LT(stop - calls.begin(), start - calls.begin());
}

TEST_F(TaskWorkerTest, StartFailureFailsOnlyAfterDesiredRunning) {
  struct FailingStart : FakeExecutor {
    explicit FailingStart(const Clock& clock) : FakeExecutor(clock) {}
    Status Start(const std::string&) override {
      ++starts;
      return absl::UnknownError("starting container failed: exec: \"/no/such/binary\"");
    }
    std::atomic<int> starts{0};
  } failing(clock_);
  StatusQueue queue(reporter_, milliseconds(10));
  TaskWorker worker(failing, cache_, queue, clock_, {kPoll, kSecretWait});
  worker.Start();
  Task t = MakeTask("t1", TaskState::kAssigned, TaskState::kReady);
  worker.Apply(true, {{t, 1}}, {});
  ASSERT_TRUE(clock_.AwaitWaiters(1) && queue.WaitIdle(std::chrono::seconds(10)));
  EXPECT_EQ(LastState("t1"), TaskState::kReady);
  for (int poll = 0; poll < 3; ++poll) {
    clock_.Advance(kPoll);
    ASSERT_TRUE(clock_.AwaitWaiters(1) && queue.WaitIdle(std::chrono::seconds(10)));
    EXPECT_EQ(failing.starts.load(), 0);
  }
  t.status.state = TaskState::kReady;
  t.desired_state = TaskState::kRunning;
  worker.Apply(false, {{t, 2}}, {});
  ASSERT_TRUE(ReachesState("t1", TaskState::kFailed));
  EXPECT_EQ(failing.starts.load(), 1);
  EXPECT_EQ(reporter_.Last("t1")->err, "starting container failed: exec: \"/no/such/binary\"");
  worker.Stop();
  queue.Stop();
}

TEST_F(TaskWorkerTest, SecretFilesCarryParsedUidGidMode) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("x")));
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "/etc/app/key", "2000", "3000", 0400)};
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  // The SecretFile fields as Prepare saw them.
  std::optional<FakeExecutor::Task> e = executor_.Get("t1");
  ASSERT_TRUE(e.has_value());
  ASSERT_EQ(e->run.secrets.size(), 1u);
  EXPECT_EQ(e->run.secrets[0].secret_id, "s1");
  EXPECT_EQ(e->run.secrets[0].target, "/etc/app/key");
  EXPECT_EQ(e->run.secrets[0].uid, 2000u);
  EXPECT_EQ(e->run.secrets[0].gid, 3000u);
  EXPECT_EQ(e->run.secrets[0].mode, 0400u);
  EXPECT_EQ(executor_.SecretData("t1", "/etc/app/key"), "x");
}

TEST_F(TaskWorkerTest, MissingImageRejectsWithDockersMessage) {
  executor_.SetImageMissing("nosuch:1");
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

TEST_F(TaskWorkerTest, SecretThatNeverArrivesRejectsWhenTheWaitRunsOut) {
  MakeSteppedWorker();
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s9", "pw", "0", "0", 0444)};
  Full({t});
  ASSERT_TRUE(AwaitStep());
  EXPECT_EQ(LastState("t1"), TaskState::kPreparing);
  // One poll before the wait runs out it still waits...
  clock_.Advance(kSecretWait - milliseconds(1));
  ASSERT_TRUE(AwaitStep());
  EXPECT_EQ(LastState("t1"), TaskState::kPreparing);
  EXPECT_FALSE(executor_.Called("prepare t1"));
  // ...and the first poll after it has run out rejects it.
  clock_.Advance(kPoll);
  ASSERT_TRUE(AwaitStep());
  EXPECT_EQ(LastState("t1"), TaskState::kRejected);
  EXPECT_EQ(reporter_.Last("t1")->err, "secret name-s9 is not available on this node");
  EXPECT_FALSE(executor_.Called("prepare t1"));
}

TEST_F(TaskWorkerTest, SecretArrivingLateStillStarts) {
  MakeSteppedWorker();
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "pw", "0", "0", 0444)};
  Full({t});
  ASSERT_TRUE(AwaitStep());
  EXPECT_FALSE(executor_.Has("t1"));
  clock_.Advance(kSecretWait - milliseconds(1));
  ASSERT_TRUE(AwaitStep());
  EXPECT_FALSE(executor_.Has("t1"));
  EXPECT_EQ(LastState("t1"), TaskState::kPreparing);
  // It arrives before the wait runs out: the next poll starts the task.
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("late")));
  clock_.Advance(kPoll);
  ASSERT_TRUE(AwaitStep());
  EXPECT_EQ(LastState("t1"), TaskState::kRunning);
  EXPECT_EQ(executor_.SecretData("t1", "pw"), "late");
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
  MakeSteppedWorker();
  Full({MakeTask("t1", TaskState::kPending)});
  for (int poll = 0; poll < 3; ++poll) {
    ASSERT_TRUE(AwaitStep());
    EXPECT_FALSE(executor_.Has("t1"));
    EXPECT_FALSE(reporter_.Last("t1").has_value());
    clock_.Advance(kPoll);
  }
  // Once it is assigned to this node, it starts.
  Change(MakeTask("t1", TaskState::kAssigned));
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
}

TEST_F(TaskWorkerTest, TerminalTaskInAssignmentsIsLeftAlone) {
  MakeSteppedWorker();
  Full({MakeTask("t1", TaskState::kFailed)});
  for (int poll = 0; poll < 3; ++poll) {
    ASSERT_TRUE(AwaitStep());
    EXPECT_TRUE(executor_.calls().empty());
    EXPECT_FALSE(reporter_.Last("t1").has_value());
    clock_.Advance(kPoll);
  }
}

TEST_F(TaskWorkerTest, RestartReadoptsAssignedTasksAndRemovesOrphans) {
  // A previous agent left: t1 running (still assigned), t2 running (no longer assigned),
  // t3 prepared but never started (still assigned).
  for (const char* id : {"t1", "t2", "t3"}) {
    RunStatus st;
    st.container_id = std::string("c-") + id;
    st.state = id == std::string("t3") ? RunStatus::State::kCreated : RunStatus::State::kRunning;
    st.pid = 77;
    executor_.Put(id, st);
  }
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

// Live refresh: a running task whose refreshed secret moved to a new version in place gets
// the new file and its signal — same container, never prepared or stopped again.
TEST_F(TaskWorkerTest, ARefreshedSecretsNewVersionIsSwappedInPlaceWithItsSignal) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("v1")));
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "pw", "0", "0", 0400)};
  t.secret_refresh = {{"s1", "signal:1"}};
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  ASSERT_TRUE(executor_.Get("t1")->run.refresh_layout);

  cache_.Put("s1@2", SecretBytes::CopyFrom(std::string_view("v2")));
  t.status.state = TaskState::kRunning;
  t.secret_versions = {{"s1", 2}};
  Change(t);
  EXPECT_TRUE(Eventually([&] { return executor_.SecretData("t1", "pw") == "v2"; }));
  EXPECT_TRUE(executor_.Called("refresh t1 pw 1"));

  cache_.Put("s1@3", SecretBytes::CopyFrom(std::string_view("v3")));
  t.secret_versions = {{"s1", 3}};
  t.secret_refresh = {{"s1", "none"}};
  Change(t);
  EXPECT_TRUE(Eventually([&] { return executor_.SecretData("t1", "pw") == "v3"; }));
  EXPECT_TRUE(executor_.Called("refresh t1 pw 0"));
  const std::vector<std::string> calls = executor_.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "prepare t1"), 1);
  EXPECT_FALSE(executor_.Called("stop t1"));
  EXPECT_EQ(reporter_.Last("t1")->state, TaskState::kRunning);
}

TEST_F(TaskWorkerTest, ARefreshWaitsForTheNewVersionToArrive) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("v1")));
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "pw", "0", "0", 0400)};
  t.secret_refresh = {{"s1", "signal:10"}};
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  t.status.state = TaskState::kRunning;
  t.secret_versions = {{"s1", 2}};
  Change(t);
  std::this_thread::sleep_for(kPoll * 5);
  EXPECT_EQ(executor_.SecretData("t1", "pw"), "v1");
  cache_.Put("s1@2", SecretBytes::CopyFrom(std::string_view("v2")));
  EXPECT_TRUE(Eventually([&] { return executor_.SecretData("t1", "pw") == "v2"; }));
  EXPECT_TRUE(executor_.Called("refresh t1 pw 10"));
}

TEST_F(TaskWorkerTest, ATaskWithoutPoliciesIsNotLaidOutForRefresh) {
  MakeWorker();
  cache_.Put("s1", SecretBytes::CopyFrom(std::string_view("v1")));
  Task t = MakeTask("t1");
  t.spec.container.secrets = {Ref("s1", "pw", "0", "0", 0400)};
  Full({t});
  ASSERT_TRUE(ReachesState("t1", TaskState::kRunning));
  EXPECT_FALSE(executor_.Get("t1")->run.refresh_layout);
}

TEST_F(TaskWorkerTest, AdoptedTaskTheManagerOrphanedIsStoppedAndRemoved) {
  RunStatus st;
  st.container_id = "c-t1";
  st.state = RunStatus::State::kRunning;
  executor_.Put("t1", st);
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

// A Prepare that blocks until the test releases it: a task preparation stuck in the executor
// (a FIFO opened on an older code path, a hung mount or runc).
class StuckPrepare {
 public:
  FakeExecutor::Hooks Hooks() {
    FakeExecutor::Hooks hooks;
    hooks.prepared = [this](const TaskRun&) {
      std::unique_lock<std::mutex> lock(mu_);
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return released_; });
    };
    return hooks;
  }
  bool AwaitEntered() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(15), [this] { return entered_; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

constexpr std::chrono::seconds kStopTimeout{10};

TEST(TaskWorkerStopTest, StopReturnsAfterItsTimeoutWhileAPrepareIsStuck) {
  FakeClock clock;
  StuckPrepare stuck;
  FakeExecutor executor(clock, stuck.Hooks());
  SecretCache cache;
  RecordingReporter reporter;
  {
    StatusQueue queue(reporter, milliseconds(10));
    auto worker = std::make_unique<TaskWorker>(executor, cache, queue, clock,
                                               TaskWorkerOptions{kPoll, kSecretWait, kStopTimeout});
    worker->Start();
    worker->Apply(true, {{MakeTask("stuck"), 1}}, {});
    ASSERT_TRUE(stuck.AwaitEntered());
    auto stopped = std::async(std::launch::async, [&] { worker->Stop(); });
    ASSERT_TRUE(clock.AwaitWaiters(1));  // Stop waits for the task, on the clock
    EXPECT_EQ(stopped.wait_for(milliseconds(0)), std::future_status::timeout);
    clock.Advance(kStopTimeout);
    if (stopped.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
      stuck.Release();  // so the test ends (Stop joins the thread once Prepare returns)
      FAIL() << "Stop() waited for a stuck Prepare past its timeout";
    }
    EXPECT_EQ(TaskWorker::AbandonedCalls(), 1);
    // The worker and its queue go while the abandoned Prepare still runs.
    worker.reset();
  }
  const size_t reports = reporter.States("stuck").size();
  stuck.Release();
  // The abandoned thread ends once Prepare returns, reporting nothing (the queue is gone).
  EXPECT_TRUE(Eventually([] { return TaskWorker::AbandonedCalls() == 0; }));
  EXPECT_EQ(reporter.States("stuck").size(), reports);
  EXPECT_FALSE(executor.Called("start stuck"));
}

TEST(TaskWorkerStopTest, APrepareThatEndsWithinTheTimeoutIsWaitedFor) {
  // Positive control for the test above: the same stuck Prepare, released before the timeout,
  // is waited for and nothing is abandoned.
  FakeClock clock;
  StuckPrepare stuck;
  FakeExecutor executor(clock, stuck.Hooks());
  SecretCache cache;
  RecordingReporter reporter;
  StatusQueue queue(reporter, milliseconds(10));
  TaskWorker worker(executor, cache, queue, clock,
                    TaskWorkerOptions{kPoll, kSecretWait, kStopTimeout});
  worker.Start();
  worker.Apply(true, {{MakeTask("slow"), 1}}, {});
  ASSERT_TRUE(stuck.AwaitEntered());
  auto stopped = std::async(std::launch::async, [&] { worker.Stop(); });
  ASSERT_TRUE(clock.AwaitWaiters(1));
  stuck.Release();
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(15)), std::future_status::ready);
  EXPECT_EQ(TaskWorker::AbandonedCalls(), 0);
  EXPECT_TRUE(executor.Called("prepare slow"));
  queue.Stop();
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
