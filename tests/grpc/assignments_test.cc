// Dispatcher assignments over real mutual-TLS sessions: which node gets which tasks and
// secrets (sealed for its session key), sent once, withdrawn, complete set on reconnect; and
// UpdateTaskStatus rules. Tasks and secrets come from an in-memory AssignmentSource.
#include <deque>
#include <thread>

#include "agent/assignment_assembler.h"
#include "assignment_fakes.h"
#include "crypto/node_seal.h"
#include "grpc_test_env.h"
#include "manager/dispatcher/assignment_parts.h"
#include "session_util.h"
#include "testing/eventually.h"

namespace capsule::grpctest {
namespace {

using std::chrono::milliseconds;

// A node's session with its own delivery key; messages are read on a thread into a queue.
class NodeSession {
 public:
  NodeSession(std::shared_ptr<grpc::Channel> channel, std::string node_id)
      : node_id_(std::move(node_id)), keys_(crypto::NewDeliveryKeyPair()) {
    s_ = OpenSession(std::move(channel), keys_.public_key);
    if (!s_->got_first) return;
    reader_ = std::thread([this] {
      api::SessionMessage m;
      while (s_->reader->Read(&m)) {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(m);
        cv_.notify_all();
      }
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~NodeSession() {
    s_->ctx->TryCancel();
    if (reader_.joinable()) reader_.join();
  }
  bool open() const { return s_->got_first; }
  const std::string& session_id() const { return s_->first.session_id(); }

  // The next assignment message, or nullopt after `wait`.
  std::optional<api::AssignmentChanges> Next(milliseconds wait = milliseconds(10000)) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, wait, [this] { return !queue_.empty() || ended_; })) return {};
    if (queue_.empty()) return {};
    api::SessionMessage m = std::move(queue_.front());
    queue_.pop_front();
    EXPECT_TRUE(m.has_assignments());
    return m.assignments();
  }

  std::string Open(const api::AssignedSecret& s) {
    auto opened = crypto::OpenFromDispatcher(
        keys_, crypto::DeliveryAad(s.id(), node_id_, session_id()), s.sealed_data());
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? std::string(opened->view()) : "";
  }
  const crypto::DeliveryKeyPair& keys() const { return keys_; }

 private:
  std::string node_id_;
  crypto::DeliveryKeyPair keys_;
  std::unique_ptr<ClientSession> s_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<api::SessionMessage> queue_;
  bool ended_ = false;
  std::thread reader_;
};

std::vector<std::string> TaskIds(const api::AssignmentChanges& a) {
  std::vector<std::string> ids;
  for (const auto& t : a.tasks()) ids.push_back(t.id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

class AssignmentsTest : public GrpcTestEnv {
 protected:
  void SetUp() override {
    GrpcTestEnv::SetUp();
    StopServer();
    dispatcher_backends_ = {&source_, &source_};
    StartServer();
    source_.PutSecret("s1", "pw", "s3cr3t");
    source_.PutSecret("s2", "other", "n3w");
  }
  void TearDown() override {
    StopServer();
    GrpcTestEnv::TearDown();
  }

  grpc::Status Update(const TestNode& node, const std::string& task_id, const std::string& state,
                      api::UpdateTaskStatusResponse* resp = nullptr) {
    auto stub = api::Dispatcher::NewStub(Channel(&node));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    api::UpdateTaskStatusRequest req;
    api::TaskStatusUpdate* u = req.add_updates();
    u->set_task_id(task_id);
    u->set_state(state);
    u->set_message(state);
    u->set_container_id("c1");
    u->set_pid(99);
    api::UpdateTaskStatusResponse local;
    return stub->UpdateTaskStatus(&ctx, req, resp ? resp : &local);
  }

  FakeSource source_;
};

TEST_F(AssignmentsTest, OnlyTheNodeWhoseTasksNeedASecretGetsItOnceAndSealed) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  TestNode w2 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {"s1"}));
  source_.PutTask(MakeTask("t2", w1.node_id, TaskState::kAssigned, {"s1"}));

  NodeSession n2(Channel(&w2), w2.node_id);
  ASSERT_TRUE(n2.open());
  auto full2 = n2.Next();
  ASSERT_TRUE(full2.has_value());
  EXPECT_TRUE(full2->full_set());
  EXPECT_EQ(full2->tasks_size(), 0);
  EXPECT_EQ(full2->secrets_size(), 0);

  NodeSession n1(Channel(&w1), w1.node_id);
  ASSERT_TRUE(n1.open());
  auto full1 = n1.Next();
  ASSERT_TRUE(full1.has_value());
  EXPECT_TRUE(full1->full_set());
  EXPECT_EQ(TaskIds(*full1), (std::vector<std::string>{"t1", "t2"}));
  ASSERT_EQ(full1->secrets_size(), 1);  // shared by two tasks, sent once
  EXPECT_EQ(full1->secrets(0).id(), "s1");
  EXPECT_EQ(full1->secrets(0).name(), "pw");
  EXPECT_EQ(full1->secrets(0).sealed_data().find("s3cr3t"), std::string::npos);
  EXPECT_EQ(n1.Open(full1->secrets(0)), "s3cr3t");
  // The task travels in its stored form.
  auto decoded = DecodeTaskMeta(full1->tasks(0).task());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->node_id, w1.node_id);
  // Sealed for w1's session: another key (e.g. w2's) or another node's AAD does not open it.
  EXPECT_FALSE(crypto::OpenFromDispatcher(n2.keys(),
                                          crypto::DeliveryAad("s1", w1.node_id, n1.session_id()),
                                          full1->secrets(0).sealed_data())
                   .ok());
  EXPECT_FALSE(crypto::OpenFromDispatcher(n1.keys(),
                                          crypto::DeliveryAad("s1", w2.node_id, n1.session_id()),
                                          full1->secrets(0).sealed_data())
                   .ok());

  // t1 ends: t2 still needs s1, so only the task changes.
  Task t1 = MakeTask("t1", w1.node_id, TaskState::kComplete, {"s1"});
  source_.PutTask(t1);
  auto c1 = n1.Next();
  ASSERT_TRUE(c1.has_value());
  EXPECT_FALSE(c1->full_set());
  EXPECT_EQ(TaskIds(*c1), std::vector<std::string>{"t1"});
  EXPECT_EQ(c1->secrets_size(), 0);
  EXPECT_EQ(c1->removed_secret_ids_size(), 0);

  // t2 shuts down: the last task needing s1 left ASSIGNED…RUNNING → withdrawn.
  source_.PutTask(MakeTask("t2", w1.node_id, TaskState::kShutdown, {"s1"}));
  auto c2 = n1.Next();
  ASSERT_TRUE(c2.has_value());
  ASSERT_EQ(c2->removed_secret_ids_size(), 1);
  EXPECT_EQ(c2->removed_secret_ids(0), "s1");

  // Tasks deleted from the store are removed from the node.
  source_.DeleteTask("t1");
  source_.DeleteTask("t2");
  std::set<std::string> removed;
  while (removed.size() < 2) {
    auto c = n1.Next();
    ASSERT_TRUE(c.has_value());
    for (const auto& id : c->removed_task_ids()) removed.insert(id);
  }
  EXPECT_EQ(removed, (std::set<std::string>{"t1", "t2"}));

  // w2 never received anything beyond its empty complete set.
  EXPECT_FALSE(n2.Next(milliseconds(300)).has_value());
}

TEST_F(AssignmentsTest, SecretSentWhenATaskIsAssignedAndOnlyItsOwn) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kPending, {"s1"}));
  NodeSession n1(Channel(&w1), w1.node_id);
  ASSERT_TRUE(n1.open());
  auto full = n1.Next();
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->tasks_size(), 1);
  EXPECT_EQ(full->secrets_size(), 0);  // PENDING does not hold secrets

  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {"s1"}));
  auto c = n1.Next();
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->secrets_size(), 1);
  EXPECT_EQ(c->secrets(0).id(), "s1");
  EXPECT_EQ(n1.Open(c->secrets(0)), "s3cr3t");
  const int reads = source_.reads();

  // A status change that stays within ASSIGNED…RUNNING does not resend the secret.
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kRunning, {"s1"}));
  auto c2 = n1.Next();
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ(c2->tasks_size(), 1);
  EXPECT_EQ(c2->secrets_size(), 0);
  EXPECT_EQ(source_.reads(), reads);
}

// The audit log's hook: every item sent is reported once, with the node it went to; an
// item already held is not reported again; a reconnect's complete set is a new delivery.
TEST_F(AssignmentsTest, EachSentSecretIsReportedWithItsNode) {
  std::mutex mu;
  std::vector<std::string> reports;  // "node/id/name"
  StopServer();
  dispatcher_options_.on_sent = [&](const std::string& node, const std::string& id,
                                    const std::string& name) {
    std::lock_guard<std::mutex> lock(mu);
    reports.push_back(node + "/" + id + "/" + name);
  };
  StartServer();
  const auto reported = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return reports;
  };
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  TestNode w2 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {"s1"}));
  {
    NodeSession n2(Channel(&w2), w2.node_id);
    ASSERT_TRUE(n2.open());
    ASSERT_TRUE(n2.Next().has_value());
    NodeSession n1(Channel(&w1), w1.node_id);
    ASSERT_TRUE(n1.open());
    auto full = n1.Next();
    ASSERT_TRUE(full.has_value());
    ASSERT_EQ(full->secrets_size(), 1);
    // Reported once queued on the stream: maybe just after the node read it.
    EXPECT_TRUE(capsule::testing::Eventually([&] { return reported().size() == 1; }));
    EXPECT_EQ(reported(), (std::vector<std::string>{w1.node_id + "/s1/pw"}));

    source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kRunning, {"s1"}));
    auto c = n1.Next();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->secrets_size(), 0);
    EXPECT_EQ(reported().size(), 1u);  // already held: not sent, not reported
  }
  NodeSession again(Channel(&w1), w1.node_id);
  ASSERT_TRUE(again.open());
  ASSERT_TRUE(again.Next().has_value());
  EXPECT_TRUE(capsule::testing::Eventually([&] { return reported().size() == 2; }));
  EXPECT_EQ(reported(), (std::vector<std::string>{w1.node_id + "/s1/pw", w1.node_id + "/s1/pw"}));
}

TEST_F(AssignmentsTest, ReconnectGetsTheCompleteSet) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kRunning, {"s1", "s2"}));
  std::string first_session;
  {
    NodeSession n1(Channel(&w1), w1.node_id);
    ASSERT_TRUE(n1.open());
    first_session = n1.session_id();
    auto full = n1.Next();
    ASSERT_TRUE(full.has_value());
    EXPECT_EQ(full->secrets_size(), 2);
  }
  source_.PutTask(MakeTask("t2", w1.node_id, TaskState::kAssigned, {}));
  NodeSession again(Channel(&w1), w1.node_id);
  ASSERT_TRUE(again.open());
  EXPECT_NE(again.session_id(), first_session);
  auto full = again.Next();
  ASSERT_TRUE(full.has_value());
  EXPECT_TRUE(full->full_set());
  EXPECT_EQ(TaskIds(*full), (std::vector<std::string>{"t1", "t2"}));
  ASSERT_EQ(full->secrets_size(), 2);
  // Sealed again, for the new session's key.
  std::map<std::string, std::string> opened;
  for (const auto& s : full->secrets()) opened[s.id()] = again.Open(s);
  EXPECT_EQ(opened, (std::map<std::string, std::string>{{"s1", "s3cr3t"}, {"s2", "n3w"}}));
}

// 100 secrets of 500 KB (Docker's largest) on one node: ~50 MB sealed, over three times the
// node's 16 MiB receive limit as one message. It arrives in parts, each under the budget,
// only the last without `more`, and the parts together are the whole set.
TEST_F(AssignmentsTest, FiftyMegabyteCompleteSetArrivesInPartsUnderTheLimit) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  std::vector<std::string> ids;
  std::map<std::string, std::string> want;
  for (int i = 0; i < 100; ++i) {
    const std::string id = "big" + std::to_string(i);
    std::string data(500 * 1024, static_cast<char>('a' + i % 26));
    data.replace(0, id.size(), id);  // each secret distinct
    source_.PutSecret(id, "name-" + id, data);
    ids.push_back(id);
    want[id] = std::move(data);
  }
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, ids));
  NodeSession n1(Channel(&w1), w1.node_id);
  ASSERT_TRUE(n1.open());
  agent::AssignmentAssembler assembler;
  api::AssignmentChanges whole;
  int parts = 0;
  bool complete = false;
  while (!complete) {
    auto part = n1.Next();
    ASSERT_TRUE(part.has_value()) << "after " << parts << " part(s)";
    ++parts;
    EXPECT_TRUE(part->full_set());
    EXPECT_LE(part->ByteSizeLong(), dispatcher::kAssignmentPartBudget + 64);
    StatusOr<bool> done = assembler.Add(*std::move(part), &whole);
    ASSERT_TRUE(done.ok()) << done.status();
    complete = *done;
  }
  EXPECT_GE(parts, 7);
  EXPECT_EQ(TaskIds(whole), std::vector<std::string>{"t1"});
  ASSERT_EQ(whole.secrets_size(), 100);
  std::map<std::string, std::string> opened;
  for (const auto& s : whole.secrets()) opened[s.id()] = n1.Open(s);
  EXPECT_TRUE(opened == want);  // (not EXPECT_EQ: never print 50 MB)
  // Nothing more is pending: the next change is a small one in one message.
  source_.PutTask(MakeTask("t2", w1.node_id, TaskState::kAssigned, {}));
  auto next = n1.Next();
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->full_set());
  EXPECT_FALSE(next->more());
  EXPECT_EQ(TaskIds(*next), std::vector<std::string>{"t2"});
}

TEST_F(AssignmentsTest, SecretThatCannotBeReadIsRetried) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {"late"}));
  NodeSession n1(Channel(&w1), w1.node_id);
  ASSERT_TRUE(n1.open());
  auto full = n1.Next();
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->secrets_size(), 0);
  source_.PutSecret("late", "late", "arrived");  // no notification: the retry finds it
  // The retry comes a second later on the dispatcher's clock.
  ASSERT_TRUE(fake_clock_.AwaitWaiters(1));
  fake_clock_.Advance(std::chrono::seconds(1));
  auto c = n1.Next();
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->secrets_size(), 1);
  EXPECT_EQ(n1.Open(c->secrets(0)), "arrived");
}

TEST_F(AssignmentsTest, AllZeroDeliveryKeyRefused) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&w1), std::string(32, '\0'));
  EXPECT_FALSE(s->got_first);
  EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AssignmentsTest, UpdateTaskStatusOwnTaskForwardOnly) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  TestNode w2 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {}));

  // Another node's task: refused, nothing written.
  grpc::Status denied = Update(w2, "t1", "running");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(source_.TaskById("t1")->object.status.state, TaskState::kAssigned);

  ASSERT_TRUE(Update(w1, "t1", "running").ok());
  auto t = source_.TaskById("t1");
  EXPECT_EQ(t->object.status.state, TaskState::kRunning);
  EXPECT_EQ(t->object.status.message, "running");
  ASSERT_TRUE(t->object.status.container.has_value());
  EXPECT_EQ(t->object.status.container->container_id, "c1");
  EXPECT_EQ(t->object.status.container->pid, 99);

  // Backwards: refused (listed), store unchanged. The same state again is fine.
  api::UpdateTaskStatusResponse resp;
  ASSERT_TRUE(Update(w1, "t1", "preparing", &resp).ok());
  ASSERT_EQ(resp.refused_size(), 1);
  EXPECT_EQ(resp.refused(0).task_id(), "t1");
  EXPECT_EQ(resp.refused(0).reason(), "task t1 cannot move from running back to preparing");
  EXPECT_EQ(source_.TaskById("t1")->object.status.state, TaskState::kRunning);
  api::UpdateTaskStatusResponse again;
  ASSERT_TRUE(Update(w1, "t1", "running", &again).ok());
  EXPECT_EQ(again.refused_size(), 0);

  // A node cannot claim states before ACCEPTED; unknown names are invalid.
  api::UpdateTaskStatusResponse assigned;
  ASSERT_TRUE(Update(w1, "t1", "assigned", &assigned).ok());
  EXPECT_EQ(assigned.refused_size(), 1);
  EXPECT_EQ(Update(w1, "t1", "bogus").error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  // A task that is gone is refused (listed), not an error.
  api::UpdateTaskStatusResponse gone;
  ASSERT_TRUE(Update(w1, "nosuch", "running", &gone).ok());
  ASSERT_EQ(gone.refused_size(), 1);
  EXPECT_EQ(gone.refused(0).task_id(), "nosuch");

  ASSERT_TRUE(Update(w1, "t1", "complete").ok());
  EXPECT_EQ(source_.TaskById("t1")->object.status.state, TaskState::kComplete);
}

TEST_F(AssignmentsTest, UpdateTaskStatusNeedsACertificate) {
  source_.PutTask(MakeTask("t1", "someone", TaskState::kAssigned, {}));
  auto stub = api::Dispatcher::NewStub(Channel(nullptr));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  api::UpdateTaskStatusRequest req;
  req.add_updates()->set_task_id("t1");
  api::UpdateTaskStatusResponse resp;
  grpc::Status s = stub->UpdateTaskStatus(&ctx, req, &resp);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(source_.TaskById("t1")->object.status.state, TaskState::kAssigned);
}

TEST_F(AssignmentsTest, ManagerNodesGetAssignmentsToo) {
  TestNode m = MakeNode(ca::NodeRole::kManager);
  source_.PutTask(MakeTask("t1", m.node_id, TaskState::kAssigned, {"s1"}));
  NodeSession n(Channel(&m), m.node_id);
  ASSERT_TRUE(n.open());
  auto full = n.Next();
  ASSERT_TRUE(full.has_value());
  ASSERT_EQ(full->secrets_size(), 1);
  EXPECT_EQ(n.Open(full->secrets(0)), "s3cr3t");
  EXPECT_TRUE(Update(m, "t1", "accepted").ok());
}

}  // namespace
}  // namespace capsule::grpctest
