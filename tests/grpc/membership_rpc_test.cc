// ManagerMembership over the real swarm port stack (mutual TLS, Authorizer, CertlessGate):
// only a MANAGER certificate of this swarm may add, promote or roll back an etcd member, and the
// KEK reaches the caller sealed to the key it sent. etcd is faked (membership/fake_member_etcd.h).
#include <grpcpp/client_context.h>

#include <set>

#include "capsule/membership.grpc.pb.h"
#include "crypto/node_seal.h"
#include "crypto/random.h"
#include "grpc_test_env.h"
#include "manager/membership/fake_member_etcd.h"
#include "manager/membership/membership_service.h"
#include "session_util.h"
#include "transport/membership_client.h"

namespace capsule::grpctest {
namespace {

using std::chrono_literals::operator""s;

constexpr char kPeerUrl[] = "https://127.0.0.2:2380";

class MembershipRpcTest : public GrpcTestEnv {
 protected:
  void SetUp() override {
    GrpcTestEnv::SetUp();
    ASSERT_TRUE(crypto::InitCrypto().ok());
    membership_ = std::make_unique<membership::Membership>(etcd_);
    service_ = std::make_unique<membership::MembershipService>(
        *membership_, *authorizer_, kek_, cluster_id_, [this](const std::string& id) {
          forgotten_.push_back(id);
          return absl::OkStatus();
        });
    transport::GrpcServerOptions options;
    options.listen_addr = "127.0.0.1:0";
    options.tls = files_;
    auto server = transport::GrpcServer::Start(options, {service_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    membership_server_ = std::move(*server);
  }
  void TearDown() override {
    if (membership_server_) membership_server_->Stop();
    GrpcTestEnv::TearDown();
  }
  transport::MembershipClient ClientFor(const TestNode& node) {
    return transport::MembershipClient(membership_server_->addr(), root_->cert_pem(),
                                       node.identity);
  }

  membership::testing::FakeMemberEtcd etcd_;
  const SecretBytes kek_ = SecretBytes::CopyFrom(std::string(32, 'K'));
  std::vector<std::string> forgotten_;
  std::unique_ptr<membership::Membership> membership_;
  std::unique_ptr<membership::MembershipService> service_;
  std::unique_ptr<transport::GrpcServer> membership_server_;
};

TEST_F(MembershipRpcTest, ManagerCertificateJoinsAsLearnerAndOpensTheKek) {
  TestNode node = MakeNode(ca::NodeRole::kManager);
  transport::MembershipClient client = ClientFor(node);
  crypto::DeliveryKeyPair keys = crypto::NewDeliveryKeyPair();
  auto added = client.AddMember(kPeerUrl, keys.public_key, 5s);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_NE(etcd_.Get(added->member_id), nullptr);
  EXPECT_TRUE(etcd_.Get(added->member_id)->is_learner);
  EXPECT_EQ(added->initial_cluster,
            "m1=https://127.0.0.1:2380," + node.node_id + "=" + std::string(kPeerUrl));
  auto kek = crypto::OpenFromDispatcher(keys, membership::KekDeliveryAad(cluster_id_, node.node_id),
                                        added->sealed_kek);
  ASSERT_TRUE(kek.ok()) << kek.status();
  EXPECT_TRUE(kek->Equals(kek_.span()));
  // Promotion is retried while the learner catches up, then succeeds.
  EXPECT_EQ(client.PromoteMember(added->member_id, std::chrono::milliseconds(400)).code(),
            absl::StatusCode::kFailedPrecondition);
  etcd_.in_sync = true;
  ASSERT_TRUE(client.PromoteMember(added->member_id, 5s).ok());
  EXPECT_FALSE(etcd_.Get(added->member_id)->is_learner);
}

TEST_F(MembershipRpcTest, AbortRemovesTheLearnerAndTheNode) {
  TestNode node = MakeNode(ca::NodeRole::kManager);
  transport::MembershipClient client = ClientFor(node);
  auto added = client.AddMember(kPeerUrl, crypto::NewDeliveryKeyPair().public_key, 5s);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_TRUE(client.AbortJoin(added->member_id, 5s).ok());
  EXPECT_EQ(etcd_.List().size(), 1u);
  EXPECT_EQ(forgotten_, std::vector<std::string>{node.node_id});
}

TEST_F(MembershipRpcTest, AbortOfAPromotionKeepsTheNode) {
  TestNode node = MakeNode(ca::NodeRole::kManager);
  transport::MembershipClient client = ClientFor(node);
  auto added = client.AddMember(kPeerUrl, crypto::NewDeliveryKeyPair().public_key, 5s);
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_TRUE(client.AbortJoin(added->member_id, 5s, /*keep_node=*/true).ok());
  EXPECT_EQ(etcd_.List().size(), 1u);
  EXPECT_TRUE(forgotten_.empty());  // a promoted worker stays a worker
}

TEST_F(MembershipRpcTest, DemotedManagersOldCertificateCannotAddAMember) {
  TestNode node = MakeNode(ca::NodeRole::kManager);
  {
    std::lock_guard<std::mutex> lock(removed_mu_);
    store_roles_[node.node_id] = {"worker", ""};  // its object says worker now
  }
  transport::MembershipClient client = ClientFor(node);
  auto added = client.AddMember(kPeerUrl, crypto::NewDeliveryKeyPair().public_key, 5s);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kPermissionDenied) << added.status();
  EXPECT_EQ(client.PromoteMember(1, 5s).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(client.AbortJoin(1, 5s).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ListSessions(Channel(&node)).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(etcd_.List().size(), 1u);
  EXPECT_TRUE(forgotten_.empty());
}

TEST_F(MembershipRpcTest, ManagerWhoseDemotionIsPendingIsRefused) {
  TestNode node = MakeNode(ca::NodeRole::kManager);
  {
    std::lock_guard<std::mutex> lock(removed_mu_);
    store_roles_[node.node_id] = {"manager", "worker"};
  }
  transport::MembershipClient client = ClientFor(node);
  auto added = client.AddMember(kPeerUrl, crypto::NewDeliveryKeyPair().public_key, 5s);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kPermissionDenied) << added.status();
  grpc::Status listed = ListSessions(Channel(&node));
  EXPECT_EQ(listed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(listed.error_message(), "node " + node.node_id + " is not a manager");
  EXPECT_EQ(etcd_.List().size(), 1u);
}

TEST_F(MembershipRpcTest, RemovedManagersOldCertificateIsRefused) {
  TestNode node = MakeNode(ca::NodeRole::kManager);
  {
    std::lock_guard<std::mutex> lock(removed_mu_);
    removed_.insert(node.node_id);
  }
  transport::MembershipClient client = ClientFor(node);
  auto added = client.AddMember(kPeerUrl, crypto::NewDeliveryKeyPair().public_key, 5s);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kPermissionDenied) << added.status();
  EXPECT_EQ(client.AbortJoin(1, 5s).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ListSessions(Channel(&node)).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(etcd_.List().size(), 1u);
}

TEST_F(MembershipRpcTest, PromotedWorkerWithAManagerCertificateMayJoinButNotListSessions) {
  TestNode node = MakeNode(ca::NodeRole::kManager);  // renewed from the desired role
  {
    std::lock_guard<std::mutex> lock(removed_mu_);
    store_roles_[node.node_id] = {"worker", "manager"};
  }
  transport::MembershipClient client = ClientFor(node);
  auto added = client.AddMember(kPeerUrl, crypto::NewDeliveryKeyPair().public_key, 5s);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_TRUE(client.AbortJoin(added->member_id, 5s, /*keep_node=*/true).ok());
  EXPECT_EQ(ListSessions(Channel(&node)).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(MembershipRpcTest, WorkerCertificateIsRefused) {
  TestNode worker = MakeNode(ca::NodeRole::kWorker);
  transport::MembershipClient client = ClientFor(worker);
  auto added = client.AddMember(kPeerUrl, crypto::NewDeliveryKeyPair().public_key, 5s);
  EXPECT_EQ(added.status().code(), absl::StatusCode::kPermissionDenied) << added.status();
  EXPECT_EQ(client.PromoteMember(1, 5s).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(client.AbortJoin(1, 5s).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(etcd_.List().size(), 1u);
  EXPECT_FALSE(etcd_.List()[0].is_learner);
  EXPECT_TRUE(forgotten_.empty());
}

TEST_F(MembershipRpcTest, OtherSwarmsManagerIsRefused) {
  auto other_root = ca::RootCa::Generate();
  ASSERT_TRUE(other_root.ok());
  TestNode stranger = MakeNode(ca::NodeRole::kManager, &*other_root, "othercluster");
  transport::MembershipClient client = ClientFor(stranger);
  auto added = client.AddMember(kPeerUrl, crypto::NewDeliveryKeyPair().public_key, 5s);
  EXPECT_FALSE(added.ok());
  EXPECT_EQ(etcd_.List().size(), 1u);
}

TEST_F(MembershipRpcTest, NoCertificateIsRefused) {
  auto stub = api::ManagerMembership::NewStub(
      transport::NodeChannel(membership_server_->addr(), root_->cert_pem(), nullptr));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  api::AddMemberRequest req;
  req.set_peer_url(kPeerUrl);
  req.set_kek_delivery_public_key(crypto::NewDeliveryKeyPair().public_key);
  api::AddMemberResponse resp;
  grpc::Status st = stub->AddMember(&ctx, req, &resp);
  // This server has no join services, so the swarm front closes a cert-less client's
  // connection (transport/grpc_server.h); with the join server (capsuled's) it would get
  // UNAUTHENTICATED from CertlessGate (swarm_port_limits_test).
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_TRUE(resp.sealed_kek().empty());
  EXPECT_EQ(etcd_.List().size(), 1u);
}

}  // namespace
}  // namespace capsule::grpctest
