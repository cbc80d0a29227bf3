// LogPeer (manager-to-manager task logs, issue 12 part 2) over real TLS: a worker's
// LogPublisher (the real agent code) streams to this manager's broker; another manager reads
// the worker's task through PeerLogClient and PeerLogService. Only a manager's certificate is
// served; a worker's is refused and gets no line.
#include <grpcpp/client_context.h>

#include <atomic>
#include <thread>

#include "agent/log_publisher.h"
#include "capsule/logbroker.grpc.pb.h"
#include "grpc_test_env.h"
#include "manager/logbroker/log_broker_service.h"
#include "manager/logbroker/peer_log_client.h"
#include "manager/logbroker/peer_log_service.h"

namespace capsule::grpctest {
namespace {

// One task "t1" with two lines; with follow it then waits until cancelled.
class TwoLines : public agent::TaskLogs {
 public:
  Status Read(const std::string& task_id, const agent::LogQuery& query,
              const std::function<bool(const agent::LogLine&)>& sink) const override {
    if (task_id != "t1") return absl::NotFoundError("no log for task " + task_id);
    for (const char* text : {"one\n", "two\n"}) {
      if (!sink(agent::LogLine{RealClock().Now(), 1, text})) return absl::OkStatus();
    }
    while (query.follow && !(query.cancelled && query.cancelled())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return absl::OkStatus();
  }
};

class LogPeerGrpcTest : public GrpcTestEnv {
 protected:
  void SetUp() override {
    GrpcTestEnv::SetUp();
    logbroker::LogBrokerOptions o;
    o.idle_timeout = std::chrono::seconds(2);
    o.poll_period = std::chrono::milliseconds(20);
    broker_ = std::make_unique<logbroker::LogBroker>(RealClock(), o);
    service_ = std::make_unique<logbroker::LogBrokerService>(*authorizer_, *broker_);
    peer_ = std::make_unique<logbroker::PeerLogService>(*authorizer_, *broker_);
    transport::GrpcServerOptions options;
    options.listen_addr = "127.0.0.1:0";
    options.tls = files_;
    auto server = transport::GrpcServer::Start(options, {service_.get(), peer_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    log_server_ = std::move(*server);
    addr_ = log_server_->addr();
  }
  void TearDown() override {
    broker_->Shutdown();
    service_->Shutdown();
    log_server_->Stop();
    GrpcTestEnv::TearDown();
  }

  logbroker::PeerLogClient ClientAs(const TestNode& node) {
    std::string key(node.identity.key_pem.view());
    return logbroker::PeerLogClient(
        [root = root_->cert_pem(), cert = node.identity.cert_pem,
         key]() -> StatusOr<logbroker::PeerCredentials> {
          return logbroker::PeerCredentials{root, {cert, SecretBytes::CopyFrom(key)}};
        },
        RealClock());
  }

  // Reads t1 of `node_id` through the peer route as `caller` (waits for the node to listen).
  Status ReadAs(const TestNode& caller, const std::string& node_id, bool follow,
                std::vector<std::string>* lines, const std::function<bool()>& cancelled = nullptr) {
    logbroker::PeerLogClient client = ClientAs(caller);
    Status s;
    for (int i = 0; i < 200; ++i) {
      lines->clear();
      s = client.Read(addr_, node_id, "t1",
                      logbroker::MakeSelector(true, true, follow, std::nullopt, {}), cancelled,
                      [&](const api::LogLine& l) {
                        lines->push_back(l.data());
                        return true;
                      });
      if (!absl::IsUnavailable(s)) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return s;
  }

  std::unique_ptr<logbroker::LogBroker> broker_;
  std::unique_ptr<logbroker::LogBrokerService> service_;
  std::unique_ptr<logbroker::PeerLogService> peer_;
  std::unique_ptr<transport::GrpcServer> log_server_;
};

TEST_F(LogPeerGrpcTest, AnotherManagerReadsAWorkersTaskThroughThisManager) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  TestNode m2 = MakeNode(ca::NodeRole::kManager);
  TwoLines logs;
  auto ch = Channel(&w1);
  agent::LogPublisher publisher([ch] { return ch; }, logs, RealClock());
  std::vector<std::string> lines;
  Status s = ReadAs(m2, w1.node_id, false, &lines);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(lines, (std::vector<std::string>{"one\n", "two\n"}));
}

TEST_F(LogPeerGrpcTest, AWorkerCertificateIsRefusedAndGetsNoLine) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  TestNode w2 = MakeNode(ca::NodeRole::kWorker);
  TwoLines logs;
  auto ch = Channel(&w1);
  agent::LogPublisher publisher([ch] { return ch; }, logs, RealClock());
  for (const TestNode* caller : {&w2, &w1}) {  // another worker, and the node itself
    std::vector<std::string> lines;
    Status s = ReadAs(*caller, w1.node_id, false, &lines);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
    EXPECT_TRUE(lines.empty());
  }
  // No certificate at all.
  auto stub = api::LogPeer::NewStub(Channel(nullptr));
  grpc::ClientContext ctx;
  api::PeerLogsRequest req;
  req.set_node_id(w1.node_id);
  req.set_task_id("t1");
  auto reader = stub->SubscribeForPeer(&ctx, req);
  api::LogLine line;
  EXPECT_FALSE(reader->Read(&line));
  // This server has no join services: the front closes a cert-less client's connection.
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(LogPeerGrpcTest, ANodeWithoutASessionHereIsUnavailable) {
  TestNode m2 = MakeNode(ca::NodeRole::kManager);
  std::vector<std::string> lines;
  Status s = ClientAs(m2).Read(addr_, "elsewhere", "t1",
                               logbroker::MakeSelector(true, true, false, std::nullopt, {}),
                               nullptr, [&](const api::LogLine& l) {
                                 lines.push_back(l.data());
                                 return true;
                               });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(lines.empty());
}

TEST_F(LogPeerGrpcTest, AFollowEndsWhenTheAskingReaderGoesAway) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  TestNode m2 = MakeNode(ca::NodeRole::kManager);
  TwoLines logs;
  auto ch = Channel(&w1);
  agent::LogPublisher publisher([ch] { return ch; }, logs, RealClock());
  std::vector<std::string> probe;
  ASSERT_TRUE(ReadAs(m2, w1.node_id, false, &probe).ok());  // w1 listens now
  std::atomic<bool> gone{false};
  std::atomic<int> lines{0};
  Status s;
  std::thread reader([&] {
    s = ClientAs(m2).Read(
        addr_, w1.node_id, "t1", logbroker::MakeSelector(true, true, true, std::nullopt, {}),
        [&] { return gone.load(); },
        [&](const api::LogLine&) {
          ++lines;
          return true;
        });
  });
  for (int i = 0; i < 500 && lines < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(lines.load(), 2);
  gone = true;
  reader.join();  // the watchdog cancels the call; the serving side's follow ends
  EXPECT_TRUE(s.ok()) << s;
}

}  // namespace
}  // namespace capsule::grpctest
