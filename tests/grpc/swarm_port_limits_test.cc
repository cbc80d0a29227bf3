// Issue 11 part 4 beside the code: what a client without a certificate can make the swarm
// port receive, the delivery keys a session may use and how much a worker may report. Each
// refusal has a positive control (the same call within bounds, or with a certificate, passes
// the check that refused it).
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <thread>

#include "assignment_fakes.h"
#include "capsule/ca.grpc.pb.h"
#include "crypto/node_seal.h"
#include "grpc_test_env.h"
#include "manager/dispatcher/task_status_limits.h"
#include "session_util.h"
#include "transport/tls_names.h"

namespace capsule::grpctest {
namespace {

constexpr char kUpdateTaskStatus[] = "/capsule.api.Dispatcher/UpdateTaskStatus";
constexpr char kIssue[] = "/capsule.api.NodeCA/IssueNodeCertificate";
constexpr char kRootCa[] = "/capsule.api.NodeCA/GetRootCACertificate";

class SwarmPortLimitsTest : public GrpcTestEnv {
 protected:
  // Sends a well-formed request of about `bytes` bytes (one unknown bytes field of zeros) as
  // one unary call to `method` on a new connection, with `node`'s certificate (none if null).
  grpc::Status RawCall(const TestNode* node, const std::string& method, size_t bytes) {
    grpc::GenericStub stub(Channel(node));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    // Field 15 (bytes), so a message that gets through parses as an unknown field.
    std::string payload;
    payload.push_back(static_cast<char>((15 << 3) | 2));
    size_t n = bytes > 8 ? bytes - 8 : 0;
    for (size_t v = n;; v >>= 7) {
      payload.push_back(static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
      if (v < 0x80) break;
    }
    payload.append(n, '\0');
    grpc::Slice slice(payload);
    grpc::ByteBuffer req(&slice, 1);
    grpc::ByteBuffer resp;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    grpc::Status status;
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
      std::lock_guard<std::mutex> lock(mu);
      status = std::move(s);
      done = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return done; });
    return status;
  }
};

TEST_F(SwarmPortLimitsTest, CertlessLargeMessageToADispatcherMethodIsRefusedAtTheHeaders) {
  grpc::Status st = RawCall(nullptr, kUpdateTaskStatus, 15 << 20);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED) << st.error_message();
  EXPECT_EQ(st.error_message(), "this call needs a node certificate of this swarm");
}

TEST_F(SwarmPortLimitsTest, CertlessJoinCallIsAdmitted) {
  // Positive control for the header refusal: the gate lets a join method through without a
  // certificate (the handler answers: a root CA for an empty request).
  EXPECT_EQ(RawCall(nullptr, kRootCa, 0).error_code(), grpc::StatusCode::OK);
  grpc::Status join = RawCall(nullptr, kIssue, 0);  // reaches NodeCA: no token
  EXPECT_EQ(join.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << join.error_message();
}

TEST_F(SwarmPortLimitsTest, JoinCallOverTheJoinServersReceiveLimitIsRefused) {
  // 100 KiB: within the front's 128 KiB per connection, over the join server's 64 KiB.
  grpc::Status st = RawCall(nullptr, kIssue, 100 << 10);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
}

TEST_F(SwarmPortLimitsTest, JoinCallLargerThanTheFrontsBudgetIsCutBeforeNodeCa) {
  // gRPC buffers a whole request before its size check (chttp2 opens the stream window to
  // the declared length, performance.md): the front's byte budget per join connection is
  // what bounds it. 12 MiB never reaches NodeCA, nor the server's buffers beyond 128 KiB.
  grpc::Status big = RawCall(nullptr, kIssue, 12 << 20);
  EXPECT_NE(big.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << big.error_message();
  EXPECT_FALSE(big.ok());
  EXPECT_EQ(server_->front_counts().join_over_budget, 1u);
  // Positive control: a small join request on the same server reaches NodeCA (no token).
  grpc::Status small = RawCall(nullptr, kIssue, 1 << 10);
  EXPECT_EQ(small.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << small.error_message();
}

TEST_F(SwarmPortLimitsTest, JoinCallWithinARaisedBudgetAndLimitReachesNodeCa) {
  // Positive control for the cut: with the budget and the join receive limit raised, the same
  // 12 MiB is taken whole and answered by NodeCA — so it was the budget that cut it.
  StopServer();
  server_options_.front.join_inbound_bytes = 64 << 20;
  server_options_.join_max_receive_message_bytes = 16 << 20;
  StartServer();
  grpc::Status big = RawCall(nullptr, kIssue, 12 << 20);
  EXPECT_EQ(big.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << big.error_message();
  EXPECT_EQ(server_->front_counts().join_over_budget, 0u);
}

TEST_F(SwarmPortLimitsTest, CertlessClientAskingForTheManagerNameGetsNoSession) {
  // The authenticated server requires a certificate: a cert-less client that asks for the
  // manager's name (to reach the large limits) fails the TLS handshake.
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(transport::kManagerTlsName);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_->cert_pem();
  auto channel = grpc::CreateCustomChannel(addr_, grpc::SslCredentials(ssl), args);
  auto stub = api::NodeCA::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  api::GetRootCACertificateResponse resp;
  EXPECT_EQ(stub->GetRootCACertificate(&ctx, {}, &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_GE(server_->front_counts().authenticated, 1u);
}

TEST_F(SwarmPortLimitsTest, AuthenticatedWorkerCanSendALargeMessage) {
  // Positive control for the cert-less refusals: the same 1 MiB (and 15 MiB) to a Dispatcher
  // method with a certificate reaches the handler (UNIMPLEMENTED: no status store here).
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  grpc::Status one = RawCall(&worker, kUpdateTaskStatus, 1 << 20);
  EXPECT_EQ(one.error_code(), grpc::StatusCode::UNIMPLEMENTED) << one.error_message();
  grpc::Status fifteen = RawCall(&worker, kUpdateTaskStatus, 15 << 20);
  EXPECT_EQ(fifteen.error_code(), grpc::StatusCode::UNIMPLEMENTED) << fifteen.error_message();
  // Beyond the server's limit even a worker is refused.
  grpc::Status seventeen = RawCall(&worker, kUpdateTaskStatus, 17 << 20);
  EXPECT_EQ(seventeen.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(SwarmPortLimitsTest, CertlessCallsAreAdmittedAtABoundedRate) {
  StopServer();
  server_options_.certless.burst = 5;
  server_options_.certless.per_second = 0.001;  // none come back during the test
  StartServer();
  int ok = 0, exhausted = 0;
  for (int i = 0; i < 8; ++i) {
    grpc::Status st = RawCall(nullptr, kRootCa, 0);
    if (st.ok()) ++ok;
    if (st.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++exhausted;
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(exhausted, 3);
  // Certified peers are not counted against it.
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  EXPECT_EQ(RawCall(&worker, kRootCa, 0).error_code(), grpc::StatusCode::OK);
}

// The channel's state `wait` after one call: READY while the server keeps the connection.
grpc_connectivity_state StateAfterOneCall(std::shared_ptr<grpc::Channel> channel,
                                          std::chrono::milliseconds wait) {
  auto stub = api::NodeCA::NewStub(channel);
  grpc::ClientContext ctx;
  api::GetRootCACertificateResponse resp;
  if (!stub->GetRootCACertificate(&ctx, {}, &resp).ok()) return GRPC_CHANNEL_SHUTDOWN;
  std::this_thread::sleep_for(wait);
  return channel->GetState(false);
}

TEST_F(SwarmPortLimitsTest, ServerClosesAConnectionWithoutCalls) {
  StopServer();
  server_options_.max_connection_idle = std::chrono::milliseconds(300);
  StartServer();
  EXPECT_NE(StateAfterOneCall(Channel(nullptr), std::chrono::seconds(2)), GRPC_CHANNEL_READY);
}

TEST_F(SwarmPortLimitsTest, ConnectionWithinTheIdleLimitStaysOpen) {
  // Positive control: with the default (30 s) the same connection is still up.
  EXPECT_EQ(StateAfterOneCall(Channel(nullptr), std::chrono::seconds(2)), GRPC_CHANNEL_READY);
}

// libsodium's small-order X25519 points (has_small_order's blocklist).
std::vector<std::string> SmallOrderKeys() {
  const char* hex[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  std::vector<std::string> keys;
  for (const char* h : hex) {
    std::string k;
    for (int i = 0; i < 64; i += 2)
      k.push_back(static_cast<char>(std::stoi(std::string(h + i, 2), nullptr, 16)));
    keys.push_back(k);
    k[31] = static_cast<char>(static_cast<unsigned char>(k[31]) | 0x80);
    keys.push_back(k);
  }
  return keys;
}

TEST_F(SwarmPortLimitsTest, SmallOrderDeliveryKeyIsRefusedAtSessionStart) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  for (const std::string& key : SmallOrderKeys()) {
    auto s = OpenSession(Channel(&worker), key);
    EXPECT_FALSE(s->got_first);
    grpc::Status st = s->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  }
  EXPECT_TRUE(dispatcher_->Sessions().empty());
  // Positive control: a real key opens a session.
  auto good = OpenSession(Channel(&worker), crypto::NewDeliveryKeyPair().public_key);
  EXPECT_TRUE(good->got_first);
}

class TaskStatusBudgetTest : public GrpcTestEnv {
 protected:
  void SetUp() override {
    GrpcTestEnv::SetUp();
    StopServer();
    dispatcher_backends_ = {&source_, &source_};
    dispatcher_options_.status_budget = {.burst = 10, .per_second = 1};
    StartServer();
  }
  void TearDown() override {
    StopServer();
    GrpcTestEnv::TearDown();
  }
  grpc::Status Report(const TestNode& node, int updates, const std::string& err = "") {
    auto stub = api::Dispatcher::NewStub(Channel(&node));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    api::UpdateTaskStatusRequest req;
    for (int i = 0; i < updates; ++i) {
      api::TaskStatusUpdate* u = req.add_updates();
      u->set_task_id("t1");
      u->set_state("running");
      u->set_err(err);
    }
    api::UpdateTaskStatusResponse resp;
    return stub->UpdateTaskStatus(&ctx, req, &resp);
  }
  FakeSource source_;
};

TEST_F(TaskStatusBudgetTest, AWorkerOverItsBudgetIsRefusedUntilItRefills) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  Task t;
  t.id = "t1";
  t.node_id = worker.node_id;
  t.status.state = TaskState::kAssigned;
  source_.PutTask(t);
  EXPECT_TRUE(Report(worker, 10).ok());
  grpc::Status over = Report(worker, 1);
  EXPECT_EQ(over.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << over.error_message();
  fake_clock_.Advance(std::chrono::seconds(3));
  EXPECT_TRUE(Report(worker, 3).ok());
  // More than a burst in one call is refused outright.
  EXPECT_EQ(Report(worker, 11).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(TaskStatusBudgetTest, AHugeErrIsCutBeforeItIsStored) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  Task t;
  t.id = "t1";
  t.node_id = worker.node_id;
  t.status.state = TaskState::kAssigned;
  source_.PutTask(t);
  ASSERT_TRUE(Report(worker, 1, std::string(8 << 20, 'e')).ok());
  store::TaskEntry stored = source_.TaskById("t1");
  ASSERT_TRUE(stored);
  EXPECT_LE(stored->object.status.err.size(), dispatcher::kMaxTaskStatusErrBytes);
  EXPECT_EQ(stored->object.status.state, TaskState::kRunning);
}

}  // namespace
}  // namespace capsule::grpctest
