// Joining through NodeCA: tokens decide the role, the client pins the CA by the token's digest.
#include <grpcpp/client_context.h>

#include <algorithm>

#include "ca/cert_info.h"
#include "ca/join_token.h"
#include "ca/node_key.h"
#include "capsule/ca.grpc.pb.h"
#include "common/ids.h"
#include "grpc_test_env.h"
#include "transport/join_client.h"

namespace capsule::grpctest {
namespace {

using transport::JoinSwarm;

class JoinTest : public GrpcTestEnv {
 protected:
  ca::NodeKeyAndCsr Key() {
    auto key = ca::GenerateNodeKey("i-am-a-manager");
    EXPECT_TRUE(key.ok());
    return std::move(*key);
  }
};

TEST_F(JoinTest, WorkerTokenGivesWorkerCertificate) {
  ca::NodeKeyAndCsr key = Key();
  auto issued = JoinSwarm(addr_, tokens_.tokens.worker, key.csr_pem, "w1", "127.0.0.2:2377");
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->role, "swarm-worker");
  EXPECT_EQ(issued->cluster_id, cluster_id_);
  EXPECT_EQ(issued->root_ca_pem, root_->cert_pem());
  EXPECT_TRUE(IsValidId(issued->node_id));
  auto info = ca::VerifyAndParseNodeCert(issued->cert_pem, root_->cert_pem(), RealClock().Now());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->role, ca::NodeRole::kWorker);
  EXPECT_EQ(info->node_id, issued->node_id);
  EXPECT_EQ(info->cluster_id, cluster_id_);
  // The IP SAN is the address the call came from, not the advertised one.
  EXPECT_EQ(info->ip_sans, std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(ca::KeyMatchesCert(key.key_pem, issued->cert_pem).ok());

  ASSERT_EQ(registry_.size(), 1u);
  EXPECT_EQ(registry_.nodes[0].node_id, issued->node_id);
  EXPECT_EQ(registry_.nodes[0].role, ca::NodeRole::kWorker);
  EXPECT_EQ(registry_.nodes[0].hostname, "w1");
  EXPECT_EQ(registry_.nodes[0].advertise_addr, "127.0.0.2:2377");
  EXPECT_EQ(registry_.nodes[0].observed_ip, "127.0.0.1");
}

TEST_F(JoinTest, ManagerTokenGivesManagerCertificate) {
  auto issued = JoinSwarm(addr_, tokens_.tokens.manager, Key().csr_pem, "m2", "");
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_EQ(issued->role, "swarm-manager");
  auto info = ca::ParseCertInfo(issued->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->role, ca::NodeRole::kManager);
  ASSERT_EQ(registry_.size(), 1u);
  EXPECT_EQ(registry_.nodes[0].role, ca::NodeRole::kManager);
}

// A manager's etcd peers dial its advertised IP and verify it in the certificate, so a manager
// certificate names it too; a worker's stays the observed address only (test above).
TEST_F(JoinTest, ManagerCertificateAlsoNamesTheAdvertisedIp) {
  auto issued = JoinSwarm(addr_, tokens_.tokens.manager, Key().csr_pem, "m2", "127.0.0.2:2377");
  ASSERT_TRUE(issued.ok()) << issued.status();
  auto info = ca::ParseCertInfo(issued->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->ip_sans, (std::vector<std::string>{"127.0.0.1", "127.0.0.2"}));
  auto bare = JoinSwarm(addr_, tokens_.tokens.manager, Key().csr_pem, "m3", "127.0.0.3");
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(ca::ParseCertInfo(bare->cert_pem)->ip_sans,
            (std::vector<std::string>{"127.0.0.1", "127.0.0.3"}));
  auto junk = JoinSwarm(addr_, tokens_.tokens.manager, Key().csr_pem, "m4", "not-an-ip:1");
  ASSERT_TRUE(junk.ok()) << junk.status();
  EXPECT_EQ(ca::ParseCertInfo(junk->cert_pem)->ip_sans, std::vector<std::string>{"127.0.0.1"});
}

TEST_F(JoinTest, EachJoinIsANewNode) {
  auto a = JoinSwarm(addr_, tokens_.tokens.worker, Key().csr_pem, "w", "");
  auto b = JoinSwarm(addr_, tokens_.tokens.worker, Key().csr_pem, "w", "");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->node_id, b->node_id);
  EXPECT_EQ(registry_.size(), 2u);
}

TEST_F(JoinTest, WrongTokenIsRefusedWithDockerMessage) {
  // Right CA digest (so the client goes ahead), wrong secret.
  std::string wrong = ca::NewJoinToken(root_->cert_pem());
  auto issued = JoinSwarm(addr_, wrong, Key().csr_pem, "w1", "");
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(issued.status().message(), "A valid join token is necessary to join this cluster");
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(JoinTest, RotatedTokenStopsWorkingNewOneWorks) {
  std::string old_token = tokens_.tokens.worker;
  {
    std::lock_guard<std::mutex> lock(tokens_.mu);
    tokens_.tokens.worker = ca::NewJoinToken(root_->cert_pem());
  }
  auto refused = JoinSwarm(addr_, old_token, Key().csr_pem, "w1", "");
  EXPECT_EQ(refused.status().message(), "A valid join token is necessary to join this cluster");
  auto ok = JoinSwarm(addr_, tokens_.CurrentTokens().worker, Key().csr_pem, "w1", "");
  EXPECT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(registry_.size(), 1u);
}

TEST_F(JoinTest, TokenSentDirectlyWithoutPinningIsStillChecked) {
  // A hostile client skipping the client library: raw IssueNodeCertificate, garbage token.
  auto stub = api::NodeCA::NewStub(Channel(nullptr));
  for (const std::string& token :
       std::vector<std::string>{"", "SWMTKN-1-garbage", tokens_.tokens.worker + "x"}) {
    grpc::ClientContext ctx;
    api::IssueNodeCertificateRequest req;
    req.set_csr_pem(Key().csr_pem);
    req.set_token(token);
    api::IssueNodeCertificateResponse resp;
    grpc::Status st = stub->IssueNodeCertificate(&ctx, req, &resp);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_EQ(st.error_message(), "A valid join token is necessary to join this cluster");
    EXPECT_TRUE(resp.certificate_pem().empty());
  }
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(JoinTest, BadCsrIsInvalidArgumentAndRegistersNothing) {
  auto issued = JoinSwarm(addr_, tokens_.tokens.worker, "not a csr", "w1", "");
  EXPECT_EQ(issued.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(JoinTest, TokenForAnotherCaIsRefusedByTheClient) {
  auto other = ca::RootCa::Generate();
  ASSERT_TRUE(other.ok());
  // The token's secret part is even the real worker secret: the client must stop before
  // sending it, because the CA it fetched is not the one the token names.
  auto parsed = ca::ParseJoinToken(tokens_.tokens.worker);
  ASSERT_TRUE(parsed.ok());
  std::string digest = ca::RootCaDigestBase36(other->cert_pem());
  std::string token = std::string(ca::kJoinTokenPrefix) + digest + "-" + parsed->secret;
  auto issued = JoinSwarm(addr_, token, Key().csr_pem, "w1", "");
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(issued.status().message(), "remote CA does not match fingerprint. Expected: " + digest);
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(JoinTest, FetchPinnedRootCaReturnsTheRoot) {
  auto root = transport::FetchPinnedRootCa(addr_, tokens_.tokens.manager);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(*root, root_->cert_pem());
  EXPECT_EQ(transport::FetchPinnedRootCa(addr_, "SWMTKN-1-nope").status().message(),
            "invalid join token");
}

TEST_F(JoinTest, RenewKeepsNodeIdAndRoleAndNeedsACertificate) {
  ca::NodeKeyAndCsr key = Key();
  auto issued = JoinSwarm(addr_, tokens_.tokens.worker, key.csr_pem, "w1", "");
  ASSERT_TRUE(issued.ok()) << issued.status();
  transport::ClientIdentity me{issued->cert_pem, SecretBytes::CopyFrom(key.key_pem.view())};
  ca::NodeKeyAndCsr fresh = Key();
  auto renewed = transport::RenewCertificate(addr_, root_->cert_pem(), me, fresh.csr_pem);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->node_id, issued->node_id);
  EXPECT_EQ(renewed->role, "swarm-worker");
  EXPECT_TRUE(ca::KeyMatchesCert(fresh.key_pem, renewed->cert_pem).ok());
  auto info = ca::ParseCertInfo(renewed->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->role, ca::NodeRole::kWorker);
  EXPECT_EQ(registry_.size(), 1u);  // renewal registers nothing

  // Without a client certificate: UNAUTHENTICATED.
  auto stub = api::NodeCA::NewStub(Channel(nullptr));
  grpc::ClientContext ctx;
  api::RenewNodeCertificateRequest req;
  req.set_csr_pem(fresh.csr_pem);
  api::IssueNodeCertificateResponse resp;
  EXPECT_EQ(stub->RenewNodeCertificate(&ctx, req, &resp).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(JoinTest, RenewalTakesTheRoleTheNodeObjectSays) {
  ca::NodeKeyAndCsr key = Key();
  auto issued = JoinSwarm(addr_, tokens_.tokens.worker, key.csr_pem, "w1", "");
  ASSERT_TRUE(issued.ok()) << issued.status();
  transport::ClientIdentity me{issued->cert_pem, SecretBytes::CopyFrom(key.key_pem.view())};
  {
    // `node promote`: a manager's certificate, naming the node's advertised IP too.
    std::lock_guard<std::mutex> lock(registry_.mu);
    registry_.renewals[issued->node_id] = {ca::NodeRole::kManager, "127.0.0.77"};
  }
  auto promoted = transport::RenewCertificate(addr_, root_->cert_pem(), me, key.csr_pem);
  ASSERT_TRUE(promoted.ok()) << promoted.status();
  EXPECT_EQ(promoted->role, "swarm-manager");
  auto info = ca::ParseCertInfo(promoted->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->role, ca::NodeRole::kManager);
  EXPECT_NE(std::find(info->ip_sans.begin(), info->ip_sans.end(), "127.0.0.77"),
            info->ip_sans.end());
  {
    // `node demote` done: the manager certificate renews to a worker's.
    std::lock_guard<std::mutex> lock(registry_.mu);
    registry_.renewals[issued->node_id] = {ca::NodeRole::kWorker, "127.0.0.77"};
  }
  transport::ClientIdentity as_manager{promoted->cert_pem,
                                       SecretBytes::CopyFrom(key.key_pem.view())};
  auto demoted = transport::RenewCertificate(addr_, root_->cert_pem(), as_manager, key.csr_pem);
  ASSERT_TRUE(demoted.ok()) << demoted.status();
  EXPECT_EQ(demoted->role, "swarm-worker");
  info = ca::ParseCertInfo(demoted->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->ip_sans, std::vector<std::string>{"127.0.0.1"});  // only the observed one
}

}  // namespace
}  // namespace capsule::grpctest
