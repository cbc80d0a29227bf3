// Clients that must be refused: no certificate, self-signed, another swarm's CA, another
// cluster, a worker on a manager-only call, a removed node. Each leaves no trace.
#include <grpcpp/client_context.h>

#include "ca/node_key.h"
#include "capsule/ca.grpc.pb.h"
#include "grpc_test_env.h"
#include "session_util.h"
#include "transport/join_client.h"

namespace capsule::grpctest {
namespace {

class HostileClientTest : public GrpcTestEnv {
 protected:
  // Nothing was registered, no node state was reported, no session is open.
  void ExpectClusterUnchanged() {
    EXPECT_EQ(registry_.size(), 0u);
    std::lock_guard<std::mutex> lock(sink_.mu);
    EXPECT_TRUE(sink_.history.empty());
    EXPECT_TRUE(dispatcher_->Sessions().empty());
  }
};

TEST_F(HostileClientTest, NoCertificateOnSessionIsUnauthenticated) {
  auto s = OpenSession(Channel(nullptr));
  EXPECT_FALSE(s->got_first);
  grpc::Status st = s->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(st.error_message(), "this call needs a node certificate of this swarm");
  EXPECT_EQ(Heartbeat(Channel(nullptr), "x").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ListSessions(Channel(nullptr)).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  ExpectClusterUnchanged();
}

TEST_F(HostileClientTest, NoCertificateStillGetsTheRootCa) {
  auto stub = api::NodeCA::NewStub(Channel(nullptr));
  grpc::ClientContext ctx;
  api::GetRootCACertificateResponse resp;
  ASSERT_TRUE(stub->GetRootCACertificate(&ctx, {}, &resp).ok());
  EXPECT_EQ(resp.certificate_pem(), root_->cert_pem());
}

TEST_F(HostileClientTest, SelfSignedCertificateIsRejected) {
  auto self = ca::RootCa::Generate();  // a self-signed certificate and its key
  ASSERT_TRUE(self.ok());
  auto key = self->KeyPem();
  ASSERT_TRUE(key.ok());
  TestNode node{"x", transport::ClientIdentity{self->cert_pem(), std::move(*key)}};
  auto s = OpenSession(Channel(&node));
  EXPECT_FALSE(s->got_first);
  grpc::StatusCode code = s->Finish().error_code();
  EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::UNAUTHENTICATED)
      << code;
  ExpectClusterUnchanged();
}

TEST_F(HostileClientTest, CertificateFromAnotherSwarmsCaIsRejected) {
  auto other = ca::RootCa::Generate();
  ASSERT_TRUE(other.ok());
  TestNode intruder = MakeNode(ca::NodeRole::kManager, &*other);  // same cluster ID even
  auto s = OpenSession(Channel(&intruder));
  EXPECT_FALSE(s->got_first);
  grpc::StatusCode code = s->Finish().error_code();
  EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE || code == grpc::StatusCode::UNAUTHENTICATED)
      << code;
  EXPECT_NE(ListSessions(Channel(&intruder)).error_code(), grpc::StatusCode::OK);
  ExpectClusterUnchanged();
}

TEST_F(HostileClientTest, CertificateOfAnotherClusterIsUnauthenticated) {
  TestNode node = MakeNode(ca::NodeRole::kManager, nullptr, "othercluster");
  auto s = OpenSession(Channel(&node));
  EXPECT_FALSE(s->got_first);
  grpc::Status st = s->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(st.error_message(), "node certificate belongs to another swarm");
  ExpectClusterUnchanged();
}

TEST_F(HostileClientTest, WorkerOnManagerOnlyCallIsPermissionDenied) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  grpc::Status st = ListSessions(Channel(&worker));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(), "permission denied: unauthorized peer role: swarm-worker");
  TestNode manager = MakeNode(ca::NodeRole::kManager);
  EXPECT_TRUE(ListSessions(Channel(&manager)).ok());
}

TEST_F(HostileClientTest, WorkerRenewalCannotBecomeManager) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto key = ca::GenerateNodeKey("swarm-manager");  // the CSR asks for it; ignored
  ASSERT_TRUE(key.ok());
  auto stub = api::NodeCA::NewStub(Channel(&worker));
  grpc::ClientContext ctx;
  api::RenewNodeCertificateRequest req;
  req.set_csr_pem(key->csr_pem);
  api::IssueNodeCertificateResponse resp;
  ASSERT_TRUE(stub->RenewNodeCertificate(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.role(), "swarm-worker");
  EXPECT_EQ(resp.node_id(), worker.node_id);
  auto info = ca::ParseCertInfo(resp.certificate_pem());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->role, ca::NodeRole::kWorker);
}

TEST_F(HostileClientTest, RemovedNodeIsRefusedEverywhere) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  auto s = OpenSession(Channel(&worker));
  ASSERT_TRUE(s->got_first);
  {
    std::lock_guard<std::mutex> lock(removed_mu_);
    removed_.insert(worker.node_id);
  }
  std::string want = "node " + worker.node_id + " was removed from the swarm";
  grpc::Status hb = Heartbeat(Channel(&worker), s->first.session_id());
  EXPECT_EQ(hb.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(hb.error_message(), want);
  auto again = OpenSession(Channel(&worker));
  EXPECT_FALSE(again->got_first);
  EXPECT_EQ(again->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);

  auto key = ca::GenerateNodeKey();
  ASSERT_TRUE(key.ok());
  auto renewed =
      transport::RenewCertificate(addr_, root_->cert_pem(), worker.identity, key->csr_pem);
  EXPECT_EQ(renewed.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(HostileClientTest, WorkerCertificateCannotPoseAsManagerServer) {
  // A server presenting a valid worker certificate of this swarm: clients dial with the TLS
  // name "swarm-manager", which only manager certificates carry.
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  transport::ServerTlsFiles files{dir_ + "/w.crt", dir_ + "/w.key", files_.root_ca_path};
  ASSERT_TRUE(ca::WriteCertFile(files.cert_path, worker.identity.cert_pem).ok());
  ASSERT_TRUE(ca::WriteNodeKeyFile(files.key_path, worker.identity.key_pem).ok());
  transport::GrpcServerOptions options;
  options.listen_addr = "127.0.0.1:0";
  options.tls = files;
  auto fake = transport::GrpcServer::Start(options, {ca_service_.get()}, {ca_service_.get()});
  ASSERT_TRUE(fake.ok()) << fake.status();
  auto stub =
      api::NodeCA::NewStub(transport::NodeChannel((*fake)->addr(), root_->cert_pem(), nullptr));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  api::GetRootCACertificateResponse resp;
  EXPECT_EQ(stub->GetRootCACertificate(&ctx, {}, &resp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(HostileClientTest, ServerRefusesToStartWithMismatchedKey) {
  TestNode other = MakeNode(ca::NodeRole::kManager);
  transport::ServerTlsFiles files{files_.cert_path, dir_ + "/other.key", files_.root_ca_path};
  ASSERT_TRUE(ca::WriteNodeKeyFile(files.key_path, other.identity.key_pem).ok());
  transport::GrpcServerOptions options;
  options.listen_addr = "127.0.0.1:0";
  options.tls = files;
  auto server = transport::GrpcServer::Start(options, {});
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument) << server.status();
}

}  // namespace
}  // namespace capsule::grpctest
