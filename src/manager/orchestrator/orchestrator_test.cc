// The orchestrator against a store (the MemoryStore, held to etcd's behaviour by
// store_conformance_test.cc) and a read model: its writes land in the store with optimistic
// concurrency, a pass sees the previous pass's writes, and the worker thread reacts to
// changes (a service created, an agent's status report).
#include "manager/orchestrator/orchestrator.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "common/ids.h"
#include "manager/orchestrator/fake_cluster.h"
#include "store/etcd/etcd_test_env.h"
#include "store/memory_store.h"

namespace capsule::orchestrator {
namespace {

// The MemoryStore, recording the size of every WriteBatch; `before_batch` (if set) runs once,
// before the next batch is applied (a concurrent writer slipping in).
class BatchRecordingStore : public store::MemoryStore {
 public:
  std::vector<StatusOr<int64_t>> WriteBatch(std::vector<store::WriteRequest> writes) override {
    batches.push_back(writes.size());
    if (before_batch) {
      std::function<void()> fn = std::move(before_batch);
      before_batch = nullptr;
      fn();
    }
    return MemoryStore::WriteBatch(std::move(writes));
  }
  std::vector<size_t> batches;
  std::function<void()> before_batch;
};

class OrchestratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<BatchRecordingStore>();
    reads_ = std::make_unique<store::ReadModel>(*store_);
    ASSERT_OK(reads_->Start());
  }
  void TearDown() override { reads_->Stop(); }

  void PutNode(const std::string& id) {
    Node n = testing::ReadyNode(id, "host-" + id);
    ASSERT_OK(store_->Create({kNodesKind, id, ""}, {EncodeNodeMeta(n), {}}).status());
  }

  std::string CreateService(uint64_t replicas) {
    Service s;
    s.id = NewId();
    s.created_at = s.updated_at = RealClock().Now();
    s.spec.name = "app" + s.id.substr(0, 4);
    s.spec.replicas = replicas;
    s.spec.task_template.container.image = "busybox:1";
    s.spec.task_template.container.args = {"sh", "-c", "sleep 1d"};
    SecretReference ref;
    ref.secret_id = "sid";
    ref.secret_name = "pw";
    ref.has_file = true;
    ref.target = "password";
    ref.uid = "2000";
    ref.mode = 0400;
    s.spec.task_template.container.secrets = {ref};
    EXPECT_TRUE(
        store_->Create({kServicesKind, s.id, s.spec.name}, {EncodeServiceMeta(s), {}}).ok());
    return s.id;
  }

  // As the dispatcher does for an agent's report.
  Status ReportState(const std::string& task_id, TaskState state) {
    Status s;
    for (int attempt = 0; attempt < 20; ++attempt) {
      RETURN_IF_ERROR(reads_->WaitFresh());
      store::TaskEntry e = reads_->TaskById(task_id);
      if (!e) return absl::NotFoundError(task_id);
      Task t = e->object;
      t.status.state = state;
      t.status.timestamp = RealClock().Now();
      t.status.message = TaskStateName(state);
      s = store_->Update({kTasksKind, t.id, ""}, e->mod_revision, {EncodeTaskMeta(t), {}}).status();
      if (s.code() != StatusCode::kAborted) return s;
    }
    return s;
  }

  std::vector<Task> Tasks(const std::string& service_id) {
    EXPECT_TRUE(reads_->WaitFresh().ok());
    std::vector<Task> out;
    for (const store::TaskEntry& e : reads_->TasksOfService(service_id)) out.push_back(e->object);
    return out;
  }

  std::unique_ptr<BatchRecordingStore> store_;
  std::unique_ptr<store::ReadModel> reads_;
};

TEST_F(OrchestratorTest, APassWritesAllItsTasksInOneStoreBatch) {
  PutNode("n1");
  const std::string svc = CreateService(20);
  Orchestrator orch(*store_, *reads_, RealClock());
  StatusOr<size_t> writes = orch.RunOnce();
  ASSERT_TRUE(writes.ok()) << writes.status();
  EXPECT_EQ(*writes, 20u);
  EXPECT_EQ(store_->batches, (std::vector<size_t>{20}));
  EXPECT_EQ(Tasks(svc).size(), 20u);
}

TEST_F(OrchestratorTest, AStaleWriteFailsAloneInItsBatchAndTheNextPassConverges) {
  PutNode("n1");
  const std::string svc = CreateService(3);
  ::capsule::testing::FakeClock clock;
  Orchestrator orch(*store_, *reads_, clock);
  ASSERT_TRUE(orch.RunOnce().ok());
  const std::vector<Task> first = Tasks(svc);
  ASSERT_EQ(first.size(), 3u);
  for (const Task& t : first) ASSERT_OK(ReportState(t.id, TaskState::kFailed));
  // While the next pass writes, someone else writes the first task (a late status report):
  // the pass's shutdown of that task is Aborted, the rest of its batch still applies.
  store_->before_batch = [&] {
    store::TaskEntry e = reads_->TaskById(first[0].id);
    ASSERT_TRUE(e);
    ASSERT_OK(store_
                  ->Update({kTasksKind, e->object.id, ""}, e->mod_revision,
                           {EncodeTaskMeta(e->object), {}})
                  .status());
  };
  StatusOr<size_t> pass = orch.RunOnce();
  EXPECT_EQ(pass.status().code(), StatusCode::kAborted) << pass.status();
  ASSERT_EQ(store_->batches.size(), 2u);  // pass 1, and the failing pass's one batch
  // The failing pass shut the other two down but created no replacement: creates go only
  // after every other write of the pass applied.
  EXPECT_EQ(Tasks(svc).size(), 3u);
  // Every later pass converges: one runnable task per slot, never two replacements.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(orch.RunOnce().ok());
  std::map<uint64_t, int> runnable_by_slot;
  for (const Task& t : Tasks(svc)) {
    if (t.desired_state <= TaskState::kRunning) ++runnable_by_slot[t.slot];
  }
  EXPECT_EQ(runnable_by_slot.size(), 3u);
  for (const auto& [slot, n] : runnable_by_slot) EXPECT_EQ(n, 1) << "slot " << slot;
}

TEST_F(OrchestratorTest, PassWritesTasksThroughTheStoreAndConverges) {
  PutNode("n1");
  const std::string svc = CreateService(2);
  Orchestrator orch(*store_, *reads_, RealClock());
  StatusOr<size_t> writes = orch.RunOnce();
  ASSERT_TRUE(writes.ok()) << writes.status();
  EXPECT_EQ(*writes, 2u);  // two creates, each already assigned (one write per task)
  std::vector<Task> tasks = Tasks(svc);
  ASSERT_EQ(tasks.size(), 2u);
  for (const Task& t : tasks) {
    EXPECT_EQ(t.node_id, "n1");
    EXPECT_EQ(t.status.state, TaskState::kAssigned);
    // The task carries the service's spec, secret references included, through the store.
    ASSERT_EQ(t.spec.container.secrets.size(), 1u);
    EXPECT_EQ(t.spec.container.secrets[0].target, "password");
    EXPECT_EQ(t.spec.container.secrets[0].mode, 0400u);
    EXPECT_EQ(t.spec_version, reads_->ServiceById(svc)->mod_revision);
  }
  // The stored spec round-trips exactly: the tasks are not dirty, so nothing more to do.
  StatusOr<size_t> again = orch.RunOnce();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0u);
}

TEST_F(OrchestratorTest, StaleWriteIsAbortedAndTheNextPassCatchesUp) {
  PutNode("n1");
  const std::string svc = CreateService(1);
  ::capsule::testing::FakeClock clock;  // restart delays only pass when the test says so
  Orchestrator orch(*store_, *reads_, clock);
  ASSERT_TRUE(orch.RunOnce().ok());
  const Task t = Tasks(svc).at(0);
  ASSERT_OK(ReportState(t.id, TaskState::kRunning));
  ASSERT_OK(ReportState(t.id, TaskState::kFailed));
  // Whatever the read model shows by now, the pass either restarts the task or hits a
  // conflict and the following pass does; never two replacements.
  for (int i = 0; i < 3; ++i) (void)orch.RunOnce();
  std::vector<Task> tasks = Tasks(svc);
  int runnable = 0;
  for (const Task& x : tasks) runnable += x.desired_state <= TaskState::kRunning ? 1 : 0;
  EXPECT_EQ(runnable, 1);
  EXPECT_EQ(tasks.size(), 2u);
}

TEST_F(OrchestratorTest, WorkerThreadReactsToChanges) {
  PutNode("n1");
  Orchestrator orch(*store_, *reads_, RealClock(),
                    OrchestratorOptions{std::chrono::milliseconds(50)});
  orch.Start();
  const std::string svc = CreateService(3);
  ASSERT_TRUE(etcd::testing::WaitFor(
      [&] {
        std::vector<Task> tasks = Tasks(svc);
        return tasks.size() == 3 && std::all_of(tasks.begin(), tasks.end(), [](const Task& t) {
                 return t.status.state == TaskState::kAssigned;
               });
      },
      std::chrono::seconds(10)));
  // Removing the service: tasks never started are deleted.
  store::ServiceEntry e = reads_->ServiceById(svc);
  ASSERT_OK(store_->Delete({kServicesKind, svc, e->object.spec.name}, e->mod_revision).status());
  ASSERT_TRUE(etcd::testing::WaitFor(
      [&] {
        std::vector<Task> tasks = Tasks(svc);
        return !tasks.empty() && std::all_of(tasks.begin(), tasks.end(), [](const Task& t) {
          return t.desired_state == TaskState::kRemove;
        });
      },
      std::chrono::seconds(10)));
  // Assigned to a live node: they stay until the agent reports them stopped.
  for (const Task& t : Tasks(svc)) EXPECT_EQ(t.desired_state, TaskState::kRemove);
  for (const Task& t : Tasks(svc)) ASSERT_OK(ReportState(t.id, TaskState::kShutdown));
  EXPECT_TRUE(etcd::testing::WaitFor([&] { return Tasks(svc).empty(); }, std::chrono::seconds(10)));
  orch.Stop();
}

}  // namespace
}  // namespace capsule::orchestrator
