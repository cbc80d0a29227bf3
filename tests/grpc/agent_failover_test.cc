// The real Agent against two real dispatchers (two managers) over mutual TLS, sharing one
// in-memory AssignmentSource as two managers share one store: the node learns both managers
// from its session (and from the update the dispatcher sends when the list changes), fails over
// to the survivor when its manager stops, keeps its task running (no new Prepare or Start) and
// its secret, and task status made while no manager answered reaches the next one.
#include <algorithm>
#include <chrono>
#include <mutex>

#include "agent/agent.h"
#include "assignment_fakes.h"
#include "grpc_test_env.h"
#include "testing/eventually.h"
#include "testing/fake_executor.h"

namespace capsule::grpctest {
namespace {

using std::chrono::milliseconds;

using ::capsule::testing::Eventually;

class AgentFailoverTest : public GrpcTestEnv {
 protected:
  void SetUp() override {
    GrpcTestEnv::SetUp();
    StopServer();
    dispatcher_backends_ = {&source_, &source_};
    StartServer();  // manager A: the fixture's server
    StartB("127.0.0.1:0");
    source_.PutSecret("s1", "pw", "s3cr3t");
  }
  void TearDown() override {
    agents_.clear();
    StopB();
    StopServer();
    GrpcTestEnv::TearDown();
  }
  void StartB(const std::string& listen) {
    dispatcher_b_ = std::make_unique<dispatcher::DispatcherService>(
        *authorizer_, sink_, fake_clock_, dispatcher_options_, dispatcher_backends_);
    transport::GrpcServerOptions options;
    options.listen_addr = listen;
    options.tls = files_;
    auto server = transport::GrpcServer::Start(options, {dispatcher_b_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_b_ = std::move(*server);
    addr_b_ = server_b_->addr();
  }
  void StopB() {
    if (dispatcher_b_) dispatcher_b_->Shutdown();
    if (server_b_) server_b_->Stop();
    server_b_.reset();
    dispatcher_b_.reset();
  }
  agent::Agent& StartAgent(const TestNode& node) {
    agent::SessionConfig c;
    c.node_id = node.node_id;
    c.manager_addr = addr_;
    c.root_ca_pem = root_->cert_pem();
    c.identity = {node.identity.cert_pem, SecretBytes::CopyFrom(node.identity.key_pem.view())};
    c.hostname = "h-" + node.node_id;
    c.on_managers = [this](const std::vector<agent::RemoteManager>& m) {
      std::lock_guard<std::mutex> lock(saved_mu_);
      saved_.push_back(m);
    };
    agent::AgentOptions o;
    o.worker.poll_interval = milliseconds(20);
    o.status_retry = milliseconds(50);
    agents_.push_back(std::make_unique<agent::Agent>(std::move(c), executor_, RealClock(), o));
    return *agents_.back();
  }
  std::vector<agent::RemoteManager> LastSaved() {
    std::lock_guard<std::mutex> lock(saved_mu_);
    return saved_.empty() ? std::vector<agent::RemoteManager>{} : saved_.back();
  }
  TaskState StateOf(const std::string& id) {
    store::TaskEntry t = source_.TaskById(id);
    return t ? t->object.status.state : TaskState::kNew;
  }
  size_t CallsOf(const std::string& call) {
    std::vector<std::string> calls = executor_.calls();
    return static_cast<size_t>(std::count(calls.begin(), calls.end(), call));
  }

  FakeSource source_;
  testing::FakeExecutor executor_{RealClock()};
  std::unique_ptr<dispatcher::DispatcherService> dispatcher_b_;
  std::unique_ptr<transport::GrpcServer> server_b_;
  std::string addr_b_;
  std::mutex saved_mu_;
  std::vector<std::vector<agent::RemoteManager>> saved_;
  std::vector<std::unique_ptr<agent::Agent>> agents_;
};

TEST_F(AgentFailoverTest, NodeLearnsEveryManagerWhenTheListChanges) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  agent::Agent& a = StartAgent(w1);
  ASSERT_TRUE(Eventually([&] { return a.session().connected(); }));
  source_.SetManagers({{"mA", addr_}, {"mB", addr_b_}});
  ASSERT_TRUE(Eventually([&] { return a.session().Managers().size() == 2; }));
  EXPECT_EQ(a.session().CurrentManager(), addr_);
  EXPECT_EQ(a.session().Managers().front().addr, addr_);  // the current one first
  ASSERT_TRUE(Eventually([&] { return LastSaved().size() == 2; }));
  EXPECT_EQ(LastSaved()[1].node_id, "mB");
  EXPECT_EQ(LastSaved()[1].addr, addr_b_);
  // A manager leaves: the list shrinks on the node too.
  source_.SetManagers({{"mA", addr_}});
  EXPECT_TRUE(Eventually([&] { return a.session().Managers().size() == 1; }));
}

TEST_F(AgentFailoverTest, NodeLearnsItsDesiredRoleAtSessionStartAndWhenItChanges) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  source_.SetDesiredRole(w1.node_id, "worker");
  agent::Agent& a = StartAgent(w1);
  ASSERT_TRUE(Eventually([&] { return a.session().DesiredRole() == "worker"; }));
  source_.SetDesiredRole(w1.node_id, "manager");  // `node promote`
  EXPECT_TRUE(Eventually([&] { return a.session().DesiredRole() == "manager"; }));
  source_.SetDesiredRole(w1.node_id, "worker");  // `node demote`
  EXPECT_TRUE(Eventually([&] { return a.session().DesiredRole() == "worker"; }));
}

TEST_F(AgentFailoverTest, NodeFailsOverToTheSurvivorKeepingItsRunningTaskAndSecret) {
  source_.SetManagers({{"mA", addr_}, {"mB", addr_b_}});
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {"s1"}));
  agent::Agent& a = StartAgent(w1);
  ASSERT_TRUE(Eventually([&] { return StateOf("t1") == TaskState::kRunning; }));
  ASSERT_EQ(a.session().Managers().size(), 2u);

  const auto lost = std::chrono::steady_clock::now();
  StopServer();  // manager A goes
  ASSERT_TRUE(Eventually(
      [&] { return a.session().connected() && a.session().CurrentManager() == addr_b_; }));
  const auto ms = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - lost);
  std::printf("reconnected to the other manager in %lld ms\n", static_cast<long long>(ms.count()));
  EXPECT_EQ(LastSaved().front().addr, addr_b_);  // kept on disk with the survivor first

  // The survivor's complete set is reconciled: nothing prepared or started again.
  EXPECT_EQ(CallsOf("prepare t1"), 1u);
  EXPECT_EQ(CallsOf("start t1"), 1u);
  EXPECT_TRUE(executor_.Has("t1"));
  EXPECT_EQ(a.SecretIds(), std::vector<std::string>{"s1"});
  EXPECT_EQ(executor_.SecretData("t1", "t-s1"), "s3cr3t");

  // New work reaches the node through the survivor.
  source_.PutSecret("s2", "two", "more");
  source_.PutTask(MakeTask("t2", w1.node_id, TaskState::kAssigned, {"s2"}));
  ASSERT_TRUE(Eventually([&] { return StateOf("t2") == TaskState::kRunning; }));
  EXPECT_EQ(executor_.SecretData("t2", "t-s2"), "more");
  EXPECT_EQ(StateOf("t1"), TaskState::kRunning);
}

TEST_F(AgentFailoverTest, StatusMadeWhileNoManagerAnswersReachesTheNextManager) {
  source_.SetManagers({{"mA", addr_}, {"mB", addr_b_}});
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  source_.PutTask(MakeTask("t1", w1.node_id, TaskState::kAssigned, {"s1"}));
  agent::Agent& a = StartAgent(w1);
  ASSERT_TRUE(Eventually([&] { return StateOf("t1") == TaskState::kRunning; }));
  ASSERT_EQ(a.session().Managers().size(), 2u);
  const std::string b = addr_b_;
  StopB();
  StopServer();  // both managers gone
  ASSERT_TRUE(Eventually([&] { return !a.session().connected(); }));
  executor_.Exit("t1", 3);  // the task ends while nobody listens
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(StateOf("t1"), TaskState::kRunning);
  StartB(b);  // manager B is back at its address
  ASSERT_TRUE(Eventually([&] { return StateOf("t1") == TaskState::kFailed; }));
  EXPECT_EQ(a.session().CurrentManager(), b);
}

}  // namespace
}  // namespace capsule::grpctest
