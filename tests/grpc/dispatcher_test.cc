// Dispatcher sessions and heartbeats: Ready on session, Down after 3 missed periods.
#include "common/ids.h"
#include "grpc_test_env.h"
#include "session_util.h"
#include "testing/eventually.h"

namespace capsule::grpctest {
namespace {

using std::chrono::milliseconds;

using ::capsule::testing::Eventually;

using DispatcherTest = GrpcTestEnv;

TEST_F(DispatcherTest, SessionSendsFirstMessageAndMarksNodeReady) {
  dispatcher_->SetManagers({{manager_id_, addr_}});
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker), std::string(32, '\x07'));
  ASSERT_TRUE(s->got_first);
  EXPECT_TRUE(IsValidId(s->first.session_id()));
  EXPECT_EQ(s->first.heartbeat_period_ms(), 5000u);
  ASSERT_EQ(s->first.managers_size(), 1);
  EXPECT_EQ(s->first.managers(0).node_id(), manager_id_);
  EXPECT_EQ(s->first.managers(0).addr(), addr_);
  EXPECT_EQ(sink_.StateOf(worker.node_id), "ready");

  auto sessions = dispatcher_->Sessions();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].node_id, worker.node_id);  // from the certificate
  EXPECT_EQ(sessions[0].role, ca::NodeRole::kWorker);
  EXPECT_EQ(sessions[0].session_id, s->first.session_id());
  EXPECT_EQ(sessions[0].hostname, "test-host");
  EXPECT_EQ(sessions[0].delivery_public_key, std::string(32, '\x07'));

  TestNode manager = MakeNode(ca::NodeRole::kManager);
  api::ListSessionsResponse list;
  ASSERT_TRUE(ListSessions(Channel(&manager), &list).ok());
  ASSERT_EQ(list.sessions_size(), 1);
  EXPECT_EQ(list.sessions(0).node_id(), worker.node_id);
  EXPECT_EQ(list.sessions(0).role(), "swarm-worker");
}

TEST_F(DispatcherTest, DeliveryKeyMustBe32Bytes) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  for (std::string key : {std::string(), std::string(31, 'k'), std::string(33, 'k')}) {
    auto s = OpenSession(Channel(&worker), key);
    EXPECT_FALSE(s->got_first);
    EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(sink_.StateOf(worker.node_id), "none");
}

api::NodeResources Resources(int64_t nano_cpus, int64_t memory_bytes) {
  api::NodeResources r;
  r.set_nano_cpus(nano_cpus);
  r.set_memory_bytes(memory_bytes);
  return r;
}

TEST_F(DispatcherTest, SessionReportsTheNodesResourcesBeforeItsReady) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker), std::string(32, 'k'), Resources(4'000'000'000, 1 << 30));
  ASSERT_TRUE(s->got_first);
  ASSERT_TRUE(Eventually([&] { return sink_.StateOf(worker.node_id) == "ready"; }));
  std::lock_guard<std::mutex> lock(sink_.mu);
  EXPECT_EQ(sink_.history, (std::vector<std::string>{
                               worker.node_id + ":resources 4000000000 " + std::to_string(1 << 30),
                               worker.node_id + ":ready"}));
}

TEST_F(DispatcherTest, SessionWithoutResourcesReportsNone) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker));
  ASSERT_TRUE(s->got_first);
  EXPECT_EQ(sink_.StateOf(worker.node_id), "ready");
  std::lock_guard<std::mutex> lock(sink_.mu);
  EXPECT_TRUE(sink_.resources.empty());
}

TEST_F(DispatcherTest, ResourcesAtTheirBoundsAreReported) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker), std::string(32, 'k'),
                       Resources(dispatcher::kMaxNodeNanoCpus, dispatcher::kMaxNodeMemoryBytes));
  ASSERT_TRUE(s->got_first);
  ASSERT_TRUE(Eventually([&] { return sink_.StateOf(worker.node_id) == "ready"; }));
  std::lock_guard<std::mutex> lock(sink_.mu);
  EXPECT_EQ(
      sink_.resources[worker.node_id],
      (dispatcher::NodeResources{dispatcher::kMaxNodeNanoCpus, dispatcher::kMaxNodeMemoryBytes}));
}

TEST_F(DispatcherTest, NegativeOrOversizedResourcesRefuseTheSession) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  const std::vector<std::pair<api::NodeResources, std::string>> cases = {
      {Resources(-1, 0), "invalid resources: nano_cpus -1 out of range"},
      {Resources(0, -1), "invalid resources: memory_bytes -1 out of range"},
      {Resources(dispatcher::kMaxNodeNanoCpus + 1, 0),
       "invalid resources: nano_cpus 1000000000000001 out of range"},
      {Resources(0, INT64_MAX), "invalid resources: memory_bytes 9223372036854775807 out of range"},
  };
  for (const auto& [resources, message] : cases) {
    SCOPED_TRACE(message);
    auto s = OpenSession(Channel(&worker), std::string(32, 'k'), resources);
    EXPECT_FALSE(s->got_first);
    grpc::Status st = s->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message(), message);
  }
  std::lock_guard<std::mutex> lock(sink_.mu);
  EXPECT_TRUE(sink_.history.empty());
  EXPECT_TRUE(dispatcher_->Sessions().empty());
}

TEST_F(DispatcherTest, HeartbeatKeepsNodeReadyMissedHeartbeatsMarkItDown) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto channel = Channel(&worker);
  auto s = OpenSession(channel);
  ASSERT_TRUE(s->got_first);
  const milliseconds period(5000);

  // Just under 3 periods since the session opened: still Ready.
  fake_clock_.Advance(3 * period - milliseconds(1));
  dispatcher_->CheckHeartbeats();
  EXPECT_EQ(sink_.StateOf(worker.node_id), "ready");

  api::HeartbeatResponse resp;
  ASSERT_TRUE(Heartbeat(channel, s->first.session_id(), &resp).ok());
  EXPECT_EQ(resp.period_ms(), 5000u);

  // The heartbeat restarted the count: 3 periods - 1 ms after it, still Ready...
  fake_clock_.Advance(3 * period - milliseconds(1));
  dispatcher_->CheckHeartbeats();
  EXPECT_EQ(sink_.StateOf(worker.node_id), "ready");
  // ...and past 3 periods, Down, and the stream is closed.
  fake_clock_.Advance(milliseconds(2));
  dispatcher_->CheckHeartbeats();
  EXPECT_EQ(sink_.StateOf(worker.node_id), "down");
  api::SessionMessage more;
  EXPECT_FALSE(s->reader->Read(&more));
  grpc::Status st = s->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(st.error_message(), "node heartbeat expired");
  EXPECT_EQ(Heartbeat(channel, s->first.session_id()).error_code(), grpc::StatusCode::NOT_FOUND);

  // It comes back with a new session: Ready again.
  auto back = OpenSession(channel);
  ASSERT_TRUE(back->got_first);
  EXPECT_NE(back->first.session_id(), s->first.session_id());
  EXPECT_EQ(sink_.StateOf(worker.node_id), "ready");
  std::lock_guard<std::mutex> lock(sink_.mu);
  EXPECT_EQ(sink_.history,
            (std::vector<std::string>{worker.node_id + ":ready", worker.node_id + ":down",
                                      worker.node_id + ":ready"}));
}

TEST_F(DispatcherTest, HeartbeatMustNameTheCallersOwnSession) {
  TestNode a = MakeNode(ca::NodeRole::kWorker);
  TestNode b = MakeNode(ca::NodeRole::kWorker);
  auto sa = OpenSession(Channel(&a));
  auto sb = OpenSession(Channel(&b));
  ASSERT_TRUE(sa->got_first && sb->got_first);
  EXPECT_EQ(Heartbeat(Channel(&a), "nosuchsession").error_code(), grpc::StatusCode::NOT_FOUND);
  // b's session ID with a's certificate: the node comes from the certificate.
  EXPECT_EQ(Heartbeat(Channel(&a), sb->first.session_id()).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Heartbeat(Channel(&a), sa->first.session_id()).ok());
}

TEST_F(DispatcherTest, NewSessionReplacesTheOldOne) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto first = OpenSession(Channel(&worker));
  ASSERT_TRUE(first->got_first);
  auto second = OpenSession(Channel(&worker));
  ASSERT_TRUE(second->got_first);
  api::SessionMessage more;
  EXPECT_FALSE(first->reader->Read(&more));
  EXPECT_EQ(first->Finish().error_code(), grpc::StatusCode::ABORTED);
  EXPECT_EQ(Heartbeat(Channel(&worker), first->first.session_id()).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Heartbeat(Channel(&worker), second->first.session_id()).ok());
  EXPECT_EQ(dispatcher_->Sessions().size(), 1u);
}

TEST_F(DispatcherTest, ClientGoneEndsTheSession) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker));
  ASSERT_TRUE(s->got_first);
  std::string id = s->first.session_id();
  s->ctx->TryCancel();
  EXPECT_TRUE(Eventually([&] { return dispatcher_->Sessions().empty(); }));
  EXPECT_EQ(Heartbeat(Channel(&worker), id).error_code(), grpc::StatusCode::NOT_FOUND);
  // Still Ready until its heartbeats expire.
  EXPECT_EQ(sink_.StateOf(worker.node_id), "ready");
  fake_clock_.Advance(milliseconds(15001));
  dispatcher_->CheckHeartbeats();
  EXPECT_EQ(sink_.StateOf(worker.node_id), "down");
}

TEST_F(DispatcherTest, EndSessionClosesTheStreamWithTheGivenStatus) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker));
  ASSERT_TRUE(s->got_first);
  dispatcher_->EndSession(worker.node_id, absl::PermissionDeniedError("node was removed"));
  api::SessionMessage more;
  EXPECT_FALSE(s->reader->Read(&more));
  grpc::Status st = s->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "node was removed");
  EXPECT_TRUE(dispatcher_->Sessions().empty());
  EXPECT_EQ(Heartbeat(Channel(&worker), s->first.session_id()).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Forgotten: its heartbeats can no longer expire into a Down report.
  fake_clock_.Advance(milliseconds(60000));
  dispatcher_->CheckHeartbeats();
  EXPECT_EQ(sink_.StateOf(worker.node_id), "ready");
  dispatcher_->EndSession("unknown", absl::CancelledError("x"));  // no-op
}

TEST_F(DispatcherTest, StoppingTheServerEndsOpenSessions) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker));
  ASSERT_TRUE(s->got_first);
  StopServer();
  api::SessionMessage more;
  EXPECT_FALSE(s->reader->Read(&more));
  EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(DispatcherTest, ExpiryTimerMarksSilentNodeDownOnItsOwn) {
  dispatcher_->StartExpiryTimer();
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker));
  ASSERT_TRUE(s->got_first);
  const milliseconds period(5000);
  EXPECT_EQ(s->first.heartbeat_period_ms(), 5000u);
  // The timer checks every half period of the clock. Six checks, up to exactly 3 periods
  // after the session opened: still Ready.
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(fake_clock_.AwaitWaiters(1));  // the timer waits for its next check
    fake_clock_.Advance(period / 2);
  }
  ASSERT_TRUE(fake_clock_.AwaitWaiters(1));  // the sixth check is done
  EXPECT_EQ(sink_.StateOf(worker.node_id), "ready");
  // The seventh, past 3 periods, reports it Down and closes its stream.
  fake_clock_.Advance(period / 2);
  ASSERT_TRUE(fake_clock_.AwaitWaiters(1));
  EXPECT_EQ(sink_.StateOf(worker.node_id), "down");
  api::SessionMessage more;
  EXPECT_FALSE(s->reader->Read(&more));
  EXPECT_EQ(s->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace capsule::grpctest
