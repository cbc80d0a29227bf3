#include "grpc_test_env.h"

#include <stdlib.h>

#include <filesystem>

#include "ca/join_token.h"
#include "ca/node_key.h"
#include "common/ids.h"
#include "crypto/random.h"

namespace capsule::grpctest {

void GrpcTestEnv::SetUp() {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  char tmpl[] = "/tmp/capsule-grpc-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  auto root = ca::RootCa::Generate();
  ASSERT_TRUE(root.ok()) << root.status();
  root_ = std::make_unique<ca::RootCa>(std::move(*root));
  auto key = root_->KeyPem();
  ASSERT_TRUE(key.ok());
  auto copy = ca::RootCa::FromPem(root_->cert_pem(), *key);
  ASSERT_TRUE(copy.ok());
  signing_ = std::make_unique<ca::SigningCa>(std::move(*copy));
  tokens_.tokens.worker = ca::NewJoinToken(root_->cert_pem());
  tokens_.tokens.manager = ca::NewJoinToken(root_->cert_pem());

  // The manager's own TLS identity, as files.
  TestNode manager = MakeNode(ca::NodeRole::kManager);
  manager_id_ = manager.node_id;
  files_.cert_path = dir_ + "/swarm-node.crt";
  files_.key_path = dir_ + "/swarm-node.key";
  files_.root_ca_path = dir_ + "/swarm-root-ca.crt";
  ASSERT_TRUE(ca::WriteCertFile(files_.cert_path, manager.identity.cert_pem).ok());
  ASSERT_TRUE(ca::WriteNodeKeyFile(files_.key_path, manager.identity.key_pem).ok());
  ASSERT_TRUE(ca::WriteCertFile(files_.root_ca_path, root_->cert_pem()).ok());

  authorizer_ = std::make_unique<ca::Authorizer>(
      root_->cert_pem(), cluster_id_,
      [this](const std::string& id) {
        std::lock_guard<std::mutex> lock(removed_mu_);
        return removed_.count(id) > 0;
      },
      RealClock(),
      [this](const std::string& id, ca::RoleRead) -> StatusOr<std::optional<ca::StoreRoles>> {
        std::lock_guard<std::mutex> lock(removed_mu_);
        if (removed_.count(id) > 0) return std::nullopt;
        auto it = store_roles_.find(id);
        return it == store_roles_.end() ? ca::StoreRoles{"manager", ""} : it->second;
      });
  dispatcher_options_.heartbeat_period = std::chrono::milliseconds(5000);
  StartServer();
}

void GrpcTestEnv::StartServer() {
  caserver::NodeCaOptions ca_options;
  ca_options.cluster_id = cluster_id_;
  ca_service_ = std::make_unique<caserver::NodeCaService>(*signing_, ca_options, tokens_, registry_,
                                                          *authorizer_, RealClock());
  dispatcher_ = std::make_unique<dispatcher::DispatcherService>(
      *authorizer_, sink_, fake_clock_, dispatcher_options_, dispatcher_backends_);
  transport::GrpcServerOptions options = server_options_;
  options.listen_addr = "127.0.0.1:0";
  options.tls = files_;
  options.cert_refresh_interval = std::chrono::seconds(1);
  auto server = transport::GrpcServer::Start(options, {ca_service_.get(), dispatcher_.get()},
                                             {ca_service_.get()});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  addr_ = server_->addr();
}

void GrpcTestEnv::StopServer() {
  if (dispatcher_) dispatcher_->Shutdown();
  if (server_) server_->Stop();
  server_.reset();
  dispatcher_.reset();
  ca_service_.reset();
}

void GrpcTestEnv::TearDown() {
  StopServer();
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

TestNode GrpcTestEnv::MakeNode(ca::NodeRole role, const ca::RootCa* root,
                               const std::string& cluster) {
  auto key = ca::GenerateNodeKey();
  EXPECT_TRUE(key.ok()) << key.status();
  ca::NodeCertRequest req;
  req.csr_pem = key->csr_pem;
  req.node_id = NewId();
  req.role = role;
  req.cluster_id = cluster.empty() ? cluster_id_ : cluster;
  req.ip_sans = {"127.0.0.1"};
  auto cert = (root ? root : root_.get())->Sign(req);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return TestNode{req.node_id, transport::ClientIdentity{*cert, std::move(key->key_pem)}};
}

std::shared_ptr<grpc::Channel> GrpcTestEnv::Channel(const TestNode* node) {
  return transport::NodeChannel(addr_, root_->cert_pem(), node ? &node->identity : nullptr);
}

}  // namespace capsule::grpctest
