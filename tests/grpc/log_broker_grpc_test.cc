// The LogBroker service over real TLS: a worker's LogPublisher (the real agent code) serves a
// manager-side reader through LogBrokerService; hostile publishers (another node's
// subscription, a task outside the subscription, no certificate) are refused and nothing they
// send reaches the reader.
#include <grpcpp/client_context.h>

#include <atomic>
#include <thread>

#include "agent/log_publisher.h"
#include "capsule/logbroker.grpc.pb.h"
#include "grpc_test_env.h"
#include "manager/logbroker/log_broker_service.h"

namespace capsule::grpctest {
namespace {

// One task "t1" with two lines; with follow it then waits until cancelled.
class FakeTaskLogs : public agent::TaskLogs {
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

class LogBrokerGrpcTest : public GrpcTestEnv {
 protected:
  void SetUp() override {
    GrpcTestEnv::SetUp();
    logbroker::LogBrokerOptions o;
    o.idle_timeout = std::chrono::seconds(2);
    o.poll_period = std::chrono::milliseconds(20);
    broker_ = std::make_unique<logbroker::LogBroker>(RealClock(), o);
    service_ = std::make_unique<logbroker::LogBrokerService>(*authorizer_, *broker_);
    transport::GrpcServerOptions options;
    options.listen_addr = "127.0.0.1:0";
    options.tls = files_;
    auto server = transport::GrpcServer::Start(options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    log_server_ = std::move(*server);
    addr_ = log_server_->addr();  // Channel() now reaches the log broker
  }
  void TearDown() override {
    broker_->Shutdown();
    service_->Shutdown();
    log_server_->Stop();
    GrpcTestEnv::TearDown();
  }

  // Waits until `node_id` has a listener (a subscription to it no longer fails at once).
  std::shared_ptr<logbroker::Subscription> SubscribeWhenListening(const std::string& node_id,
                                                                  bool follow) {
    for (int i = 0; i < 500; ++i) {
      auto sub = broker_->Subscribe(node_id, {"t1"},
                                    logbroker::MakeSelector(true, true, follow, std::nullopt, {}));
      if (sub.ok()) return *sub;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "node " << node_id << " never listened";
    return nullptr;
  }

  std::vector<std::string> Drain(logbroker::Subscription& sub, Status* end) {
    std::vector<api::LogLine> lines;
    while (sub.Pop(std::chrono::seconds(5), &lines, end) == logbroker::Subscription::Next::kLines) {
    }
    std::vector<std::string> out;
    for (const auto& l : lines) out.push_back(l.data());
    return out;
  }

  std::unique_ptr<logbroker::LogBroker> broker_;
  std::unique_ptr<logbroker::LogBrokerService> service_;
  std::unique_ptr<transport::GrpcServer> log_server_;
};

// A raw ListenSubscriptions stream as `node`: returns the first subscription's ID.
struct RawListener {
  grpc::ClientContext ctx;
  std::unique_ptr<api::LogBroker::Stub> stub;
  std::unique_ptr<grpc::ClientReader<api::SubscriptionMessage>> reader;
  explicit RawListener(std::shared_ptr<grpc::Channel> ch)
      : stub(api::LogBroker::NewStub(std::move(ch))) {
    reader = stub->ListenSubscriptions(&ctx, {});
  }
  ~RawListener() {
    ctx.TryCancel();
    (void)reader->Finish();
  }
};

grpc::Status Publish(std::shared_ptr<grpc::Channel> ch, const std::string& sub,
                     const std::string& task, const std::string& text) {
  auto stub = api::LogBroker::NewStub(std::move(ch));
  grpc::ClientContext ctx;
  api::PublishLogsResponse resp;
  auto writer = stub->PublishLogs(&ctx, &resp);
  api::PublishLogsMessage m;
  m.set_subscription_id(sub);
  api::LogLine* l = m.add_lines();
  l->set_task_id(task);
  l->set_stream(1);
  l->set_data(text);
  writer->Write(m);
  writer->WritesDone();
  return writer->Finish();
}

TEST_F(LogBrokerGrpcTest, AWorkersPublisherSendsItsTaskLinesToTheReader) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  FakeTaskLogs logs;
  auto ch = Channel(&w1);
  agent::LogPublisher publisher([ch] { return ch; }, logs, RealClock());
  auto sub = SubscribeWhenListening(w1.node_id, false);
  ASSERT_NE(sub, nullptr);
  Status end;
  EXPECT_EQ(Drain(*sub, &end), (std::vector<std::string>{"one\n", "two\n"}));
  EXPECT_TRUE(end.ok()) << end;
  // A task the node has no log for: the node's error comes back.
  std::vector<std::string> got;
  Status s = broker_->Read(w1.node_id, "t9", logbroker::MakeSelector(true, true, false, 0, {}),
                           nullptr, [&](const api::LogLine& l) {
                             got.push_back(l.data());
                             return true;
                           });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_TRUE(got.empty());
}

TEST_F(LogBrokerGrpcTest, ClosingAFollowCancelsTheNodesReadAndItsStreamEndingEndsFollows) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  FakeTaskLogs logs;
  auto ch = Channel(&w1);
  auto publisher = std::make_unique<agent::LogPublisher>([ch] { return ch; }, logs, RealClock());
  auto probe = SubscribeWhenListening(w1.node_id, false);
  ASSERT_NE(probe, nullptr);
  probe->Close();
  std::atomic<bool> cancel{false};
  std::atomic<int> lines{0};
  std::thread reader([&] {
    (void)broker_->Read(
        w1.node_id, "t1", logbroker::MakeSelector(true, true, true, {}, {}),
        [&] { return cancel.load(); },
        [&](const api::LogLine&) {
          ++lines;
          return true;
        });
  });
  for (int i = 0; i < 500 && lines < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(lines.load(), 2);
  cancel = true;
  reader.join();  // the close reaches the node; its follow ends (else Stop below would hang)

  auto sub = SubscribeWhenListening(w1.node_id, true);
  ASSERT_NE(sub, nullptr);
  publisher->Stop();  // the node's stream ends
  Status end;
  Drain(*sub, &end);
  EXPECT_EQ(end.code(), absl::StatusCode::kUnavailable) << end;
}

TEST_F(LogBrokerGrpcTest, AHostileWorkerCannotPublishIntoAnotherNodesSubscription) {
  TestNode w1 = MakeNode(ca::NodeRole::kWorker);
  TestNode w2 = MakeNode(ca::NodeRole::kWorker);
  RawListener listener(Channel(&w1));
  auto sub = SubscribeWhenListening(w1.node_id, true);
  ASSERT_NE(sub, nullptr);
  api::SubscriptionMessage m;
  ASSERT_TRUE(listener.reader->Read(&m));
  ASSERT_EQ(m.id(), sub->id());

  // w2 publishing for w1's subscription; w1 publishing a task outside it; no certificate.
  grpc::Status st = Publish(Channel(&w2), sub->id(), "t1", "forged\n");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  st = Publish(Channel(&w1), sub->id(), "t-other", "foreign task\n");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  // No certificate: this server has no join services, so the front closes the connection.
  st = Publish(Channel(nullptr), sub->id(), "t1", "anonymous\n");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  st = Publish(Channel(&w2), "made-up", "t1", "guess\n");
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND) << st.error_message();

  std::vector<api::LogLine> got;
  Status end;
  EXPECT_EQ(sub->Pop(std::chrono::milliseconds(200), &got, &end),
            logbroker::Subscription::Next::kTimeout);
  EXPECT_TRUE(got.empty());
  // The rightful node still can.
  st = Publish(Channel(&w1), sub->id(), "t1", "mine\n");
  EXPECT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(sub->Pop(std::chrono::seconds(5), &got, &end), logbroker::Subscription::Next::kLines);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].data(), "mine\n");
  sub->Close();
}

TEST_F(LogBrokerGrpcTest, ListeningWithoutACertificateIsRefused) {
  RawListener listener(Channel(nullptr));
  api::SubscriptionMessage m;
  EXPECT_FALSE(listener.reader->Read(&m));
}

}  // namespace
}  // namespace capsule::grpctest
