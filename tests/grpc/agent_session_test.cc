// The real Agent (SessionClient + SecretCache + TaskWorker) against a real dispatcher over
// mutual TLS, with an in-memory AssignmentSource and a fake Executor: secrets arrive sealed
// and are held only while a task needs them, the task is driven to RUNNING through
// UpdateTaskStatus, and withdrawal / removal empty the agent.
#include <algorithm>

#include "agent/agent.h"
#include "assignment_fakes.h"
#include "grpc_test_env.h"
#include "testing/eventually.h"
#include "testing/fake_executor.h"

namespace capsule::grpctest {
namespace {

using std::chrono::milliseconds;

using ::capsule::testing::Eventually;

class AgentSessionTest : public GrpcTestEnv {
 protected:
  void SetUp() override {
    GrpcTestEnv::SetUp();
    StopServer();
    dispatcher_backends_ = {&source_, &source_};
    StartServer();
    source_.PutSecret("s1", "pw", "s3cr3t");
  }
  void TearDown() override {
    agents_.clear();
    StopServer();
    GrpcTestEnv::TearDown();
  }
  agent::Agent& StartAgent(const TestNode& node,
                           std::optional<api::NodeResources> resources = std::nullopt) {
    agent::SessionConfig c;
    c.node_id = node.node_id;
    c.manager_addr = addr_;
    c.root_ca_pem = root_->cert_pem();
    c.identity = {node.identity.cert_pem, SecretBytes::CopyFrom(node.identity.key_pem.view())};
    c.hostname = "h-" + node.node_id;
    c.resources = std::move(resources);
    agent::AgentOptions o;
    o.worker.poll_interval = milliseconds(20);
    o.status_retry = milliseconds(50);
    // Real time: the agent reconnects and polls on its own here.
    agents_.push_back(std::make_unique<agent::Agent>(std::move(c), executor_, RealClock(), o));
    return *agents_.back();
  }
  TaskState StateOf(const std::string& id) {
    store::TaskEntry t = source_.TaskById(id);
    return t ? t->object.status.state : TaskState::kNew;
  }

  FakeSource source_;
  testing::FakeExecutor executor_{RealClock()};
  std::vector<std::unique_ptr<agent::Agent>> agents_;
};

TEST_F(AgentSessionTest, TheAgentReportsItsResourcesAtEverySessionStart) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  api::NodeResources mine;
  mine.set_nano_cpus(3'000'000'000);
  mine.set_memory_bytes(int64_t{5} << 30);
  agent::Agent& a1 = StartAgent(w1, mine);
  ASSERT_TRUE(Eventually([&] { return a1.session().connected(); }));
  const std::string reported =
      w1.node_id + ":resources 3000000000 " + std::to_string(int64_t{5} << 30);
  auto count = [&] {
    std::lock_guard<std::mutex> lock(sink_.mu);
    return std::count(sink_.history.begin(), sink_.history.end(), reported);
  };
  EXPECT_EQ(count(), 1);
  // A new session (a renewed certificate) reports them again.
  a1.session().SetIdentity(
      {w1.identity.cert_pem, SecretBytes::CopyFrom(w1.identity.key_pem.view())});
  EXPECT_TRUE(Eventually([&] { return count() == 2; }));
}

TEST_F(AgentSessionTest, SecretHeldOnlyWhileItsTaskNeedsItAndOnlyOnThatNode) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  TestNode w2 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {"s1"}));
  agent::Agent& a1 = StartAgent(w1);
  agent::Agent& a2 = StartAgent(w2);

  // w1 runs the task with the secret's data; its state reaches the store.
  ASSERT_TRUE(Eventually([&] { return StateOf("t1") == TaskState::kRunning; }));
  EXPECT_EQ(executor_.SecretData("t1", "t-s1"), "s3cr3t");
  EXPECT_EQ(source_.TaskById("t1")->object.status.message, "started");
  EXPECT_EQ(source_.TaskById("t1")->object.status.container->container_id, "c-t1");
  EXPECT_EQ(a1.SecretIds(), std::vector<std::string>{"s1"});
  EXPECT_EQ(a1.TaskIds(), std::vector<std::string>{"t1"});
  // w2 holds nothing.
  ASSERT_TRUE(Eventually([&] { return a2.session().connected(); }));
  EXPECT_TRUE(a2.SecretIds().empty());
  EXPECT_TRUE(a2.TaskIds().empty());

  // The orchestrator asks for shutdown: the agent stops it, the secret is withdrawn.
  Task t = source_.TaskById("t1")->object;
  t.desired_state = TaskState::kShutdown;
  source_.PutTask(t);
  ASSERT_TRUE(Eventually([&] { return StateOf("t1") == TaskState::kShutdown; }));
  EXPECT_TRUE(Eventually([&] { return a1.SecretIds().empty(); }));
  EXPECT_TRUE(Eventually([&] { return !executor_.Has("t1"); }));

  // The task is deleted: the agent forgets it.
  source_.DeleteTask("t1");
  EXPECT_TRUE(Eventually([&] { return a1.TaskIds().empty(); }));
}

TEST_F(AgentSessionTest, ReconnectedAgentGetsTheCompleteSetAgain) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {"s1"}));
  agent::Agent& a1 = StartAgent(w1);
  ASSERT_TRUE(Eventually([&] { return StateOf("t1") == TaskState::kRunning; }));
  // The manager closes the session (e.g. it restarted); the agent reconnects with a new key.
  dispatcher_->EndSession(w1.node_id, absl::UnavailableError("manager restarting"));
  ASSERT_TRUE(Eventually([&] { return !a1.session().connected(); }));
  ASSERT_TRUE(Eventually([&] { return a1.session().connected(); }));
  source_.PutSecret("s2", "two", "more");
  Task t2 = MakeTask("t2", w1.node_id, TaskState::kAssigned, {"s1", "s2"});
  source_.PutTask(t2);
  ASSERT_TRUE(Eventually([&] { return StateOf("t2") == TaskState::kRunning; }));
  EXPECT_EQ(executor_.SecretData("t2", "t-s2"), "more");
  EXPECT_EQ(a1.SecretIds(), (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(StateOf("t1"), TaskState::kRunning);  // kept running across the reconnect
}

// The real agent with 100 secrets of 500 KB for one task: the set arrives in parts, the task
// starts only once, with every secret's bytes.
TEST_F(AgentSessionTest, TaskNeedingFiftyMegabytesOfSecretsRunsWithAllOfThem) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string id = "big" + std::to_string(i);
    std::string data(500 * 1024, static_cast<char>('a' + i % 26));
    data.replace(0, id.size(), id);
    source_.PutSecret(id, "name-" + id, data);
    ids.push_back(id);
  }
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, ids));
  agent::Agent& a1 = StartAgent(w1);
  ASSERT_TRUE(Eventually([&] { return StateOf("t1") == TaskState::kRunning; }));
  EXPECT_EQ(a1.SecretIds().size(), 100u);
  for (const std::string& id : ids) {
    const std::string data = executor_.SecretData("t1", "t-" + id);
    ASSERT_EQ(data.size(), 500u * 1024) << id;
    EXPECT_EQ(data.substr(0, id.size()), id);
  }
}

}  // namespace
}  // namespace capsule::grpctest
