#include "ca/authorizer.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

#include "ca/node_key.h"
#include "ca/root_ca.h"
#include "common/ids.h"
#include "crypto/random.h"
#include "testing/fake_clock.h"

namespace capsule::ca {
namespace {

using ::capsule::testing::FakeClock;

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    auto root = RootCa::Generate();
    ASSERT_TRUE(root.ok()) << root.status();
    root_ = std::make_unique<RootCa>(std::move(*root));
    auto other = RootCa::Generate();
    ASSERT_TRUE(other.ok()) << other.status();
    other_root_ = std::make_unique<RootCa>(std::move(*other));
    authorizer_ = std::make_unique<Authorizer>(
        root_->cert_pem(), "cluster1",
        [this](const std::string& id) { return removed_.count(id) > 0; }, clock_);
  }

  std::string Cert(const RootCa& root, NodeRole role, const std::string& node_id,
                   const std::string& cluster = "cluster1") {
    auto key = GenerateNodeKey();
    EXPECT_TRUE(key.ok());
    NodeCertRequest req;
    req.csr_pem = key->csr_pem;
    req.node_id = node_id;
    req.role = role;
    req.cluster_id = cluster;
    auto cert = root.Sign(req);
    EXPECT_TRUE(cert.ok()) << cert.status();
    return *cert;
  }

  FakeClock clock_{std::chrono::system_clock::now()};  // the certificates are issued now
  std::set<std::string> removed_;
  std::unique_ptr<RootCa> root_, other_root_;
  std::unique_ptr<Authorizer> authorizer_;
  std::string id_ = NewId();
};

TEST_F(AuthorizerTest, ValidWorkerCertGivesIdentityFromCertificate) {
  auto who = authorizer_->AuthorizeCert(Cert(*root_, NodeRole::kWorker, id_), kAnyNodeRole);
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->node_id, id_);
  EXPECT_EQ(who->role, NodeRole::kWorker);
  EXPECT_EQ(who->cluster_id, "cluster1");
}

TEST_F(AuthorizerTest, NoCertificateIsUnauthenticated) {
  auto who = authorizer_->AuthorizeCert("", kAnyNodeRole);
  EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, GarbageCertificateIsUnauthenticated) {
  auto who = authorizer_->AuthorizeCert("-----BEGIN CERTIFICATE-----\nxx\n", kAnyNodeRole);
  EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, CertificateFromAnotherCaIsUnauthenticated) {
  auto who = authorizer_->AuthorizeCert(Cert(*other_root_, NodeRole::kManager, id_), kAnyNodeRole);
  EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated) << who.status();
}

TEST_F(AuthorizerTest, SelfSignedCertificateIsUnauthenticated) {
  // A self-signed certificate does not chain to our root.
  auto who = authorizer_->AuthorizeCert(other_root_->cert_pem(), kAnyNodeRole);
  EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, CertificateOfAnotherClusterIsUnauthenticated) {
  auto who =
      authorizer_->AuthorizeCert(Cert(*root_, NodeRole::kManager, id_, "cluster2"), kAnyNodeRole);
  EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(who.status().message(), "node certificate belongs to another swarm");
}

TEST_F(AuthorizerTest, WorkerOnManagerOnlyCallIsPermissionDenied) {
  auto who = authorizer_->AuthorizeCert(Cert(*root_, NodeRole::kWorker, id_), {NodeRole::kManager});
  EXPECT_EQ(who.status().code(), StatusCode::kPermissionDenied);
  auto manager =
      authorizer_->AuthorizeCert(Cert(*root_, NodeRole::kManager, id_), {NodeRole::kManager});
  EXPECT_TRUE(manager.ok()) << manager.status();
}

TEST_F(AuthorizerTest, RemovedNodeIsPermissionDenied) {
  std::string cert = Cert(*root_, NodeRole::kManager, id_);
  ASSERT_TRUE(authorizer_->AuthorizeCert(cert, kAnyNodeRole).ok());
  removed_.insert(id_);
  auto who = authorizer_->AuthorizeCert(cert, kAnyNodeRole);
  EXPECT_EQ(who.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(who.status().message(), "node " + id_ + " was removed from the swarm");
}

TEST_F(AuthorizerTest, ExpiredCertificateIsUnauthenticated) {
  std::string cert = Cert(*root_, NodeRole::kWorker, id_);
  clock_.Advance(std::chrono::hours(24 * 91));
  EXPECT_EQ(authorizer_->AuthorizeCert(cert, kAnyNodeRole).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, SetRootCaSwitchesTrust) {
  std::string cert = Cert(*other_root_, NodeRole::kWorker, id_);
  EXPECT_FALSE(authorizer_->AuthorizeCert(cert, kAnyNodeRole).ok());
  authorizer_->SetRootCa(other_root_->cert_pem());
  EXPECT_TRUE(authorizer_->AuthorizeCert(cert, kAnyNodeRole).ok());
  EXPECT_FALSE(authorizer_->AuthorizeCert(Cert(*root_, NodeRole::kWorker, id_), kAnyNodeRole).ok());
}

// Verified certificates are remembered (a heartbeat must not cost a signature check), but
// never past their expiry, nor across a root change, nor for longer than a minute.
TEST_F(AuthorizerTest, RememberedCertificateStillExpires) {
  std::string cert = Cert(*root_, NodeRole::kWorker, id_);
  ASSERT_TRUE(authorizer_->AuthorizeCert(cert, kAnyNodeRole).ok());
  ASSERT_TRUE(authorizer_->AuthorizeCert(cert, kAnyNodeRole).ok());
  clock_.Advance(std::chrono::hours(24 * 91));
  EXPECT_EQ(authorizer_->AuthorizeCert(cert, kAnyNodeRole).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, RememberedCertificateIsRefusedAfterRootChange) {
  std::string cert = Cert(*root_, NodeRole::kWorker, id_);
  ASSERT_TRUE(authorizer_->AuthorizeCert(cert, kAnyNodeRole).ok());
  authorizer_->SetRootCa(other_root_->cert_pem());
  EXPECT_EQ(authorizer_->AuthorizeCert(cert, kAnyNodeRole).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(AuthorizerTest, RememberedCertificateIsReverifiedAfterAMinute) {
  std::string cert = Cert(*root_, NodeRole::kWorker, id_);
  ASSERT_TRUE(authorizer_->AuthorizeCert(cert, kAnyNodeRole).ok());
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(authorizer_->AuthorizeCert(cert, kAnyNodeRole).ok());  // verified afresh
  clock_.SetNow(clock_.Now() - std::chrono::hours(1));               // before not_before: not used
  EXPECT_EQ(authorizer_->AuthorizeCert(cert, kAnyNodeRole).status().code(),
            StatusCode::kUnauthenticated);
}

// AuthorizeManager: the certificate, then the node's standing in the store.
class ManagerAuthorizerTest : public AuthorizerTest {
 protected:
  void SetUp() override {
    AuthorizerTest::SetUp();
    authorizer_ = std::make_unique<Authorizer>(
        root_->cert_pem(), "cluster1",
        [this](const std::string& id) { return removed_.count(id) > 0; }, clock_,
        [this](const std::string& id, RoleRead read) -> StatusOr<std::optional<StoreRoles>> {
          reads_.push_back(read);
          if (!store_error_.ok()) return store_error_;
          auto it = roles_.find(id);
          if (it == roles_.end()) return std::nullopt;
          return it->second;
        });
  }
  std::map<std::string, StoreRoles> roles_;
  std::vector<RoleRead> reads_;
  Status store_error_;
};

TEST_F(ManagerAuthorizerTest, CurrentManagerPasses) {
  roles_[id_] = {"manager", ""};
  auto who = authorizer_->AuthorizeManagerCert(Cert(*root_, NodeRole::kManager, id_));
  ASSERT_TRUE(who.ok()) << who.status();
  EXPECT_EQ(who->node_id, id_);
  EXPECT_EQ(reads_, std::vector<RoleRead>{RoleRead::kReadModel});
}

TEST_F(ManagerAuthorizerTest, DemotedManagersOldCertificateIsRefused) {
  const std::string old_cert = Cert(*root_, NodeRole::kManager, id_);
  roles_[id_] = {"manager", ""};
  ASSERT_TRUE(authorizer_->AuthorizeManagerCert(old_cert).ok());
  roles_[id_] = {"worker", ""};
  auto who = authorizer_->AuthorizeManagerCert(old_cert);
  EXPECT_EQ(who.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(who.status().message(), "node " + id_ + " is not a manager");
  // Calls open to every node still take the certificate.
  EXPECT_TRUE(authorizer_->AuthorizeCert(old_cert, kAnyNodeRole).ok());
}

TEST_F(ManagerAuthorizerTest, NodeMissingFromTheStoreIsRefused) {
  auto who = authorizer_->AuthorizeManagerCert(Cert(*root_, NodeRole::kManager, id_));
  EXPECT_EQ(who.status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ManagerAuthorizerTest, WorkerCertificateIsRefusedBeforeTheStoreIsAsked) {
  roles_[id_] = {"manager", ""};
  auto who = authorizer_->AuthorizeManagerCert(Cert(*root_, NodeRole::kWorker, id_));
  EXPECT_EQ(who.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(reads_.empty());
}

TEST_F(ManagerAuthorizerTest, PromotionStepReadsAsAskedAndAdmitsAPendingPromotion) {
  roles_[id_] = {"worker", "manager"};
  const std::string cert = Cert(*root_, NodeRole::kManager, id_);
  EXPECT_TRUE(
      authorizer_->AuthorizeManagerCert(cert, ManagerCall::kPromotionStep, RoleRead::kLinearizable)
          .ok());
  EXPECT_EQ(reads_, std::vector<RoleRead>{RoleRead::kLinearizable});
  EXPECT_EQ(authorizer_->AuthorizeManagerCert(cert).status().code(), StatusCode::kPermissionDenied);
}

TEST_F(ManagerAuthorizerTest, StoreThatCannotAnswerRefusesTheCall) {
  roles_[id_] = {"manager", ""};
  store_error_ = absl::UnavailableError("no quorum");
  auto who = authorizer_->AuthorizeManagerCert(Cert(*root_, NodeRole::kManager, id_));
  EXPECT_EQ(who.status().code(), StatusCode::kUnavailable);
}

TEST_F(AuthorizerTest, WithoutStoreRolesManagerCallsGoByTheCertificate) {
  EXPECT_TRUE(authorizer_->AuthorizeManagerCert(Cert(*root_, NodeRole::kManager, id_)).ok());
  EXPECT_EQ(authorizer_->AuthorizeManagerCert(Cert(*root_, NodeRole::kWorker, id_)).status().code(),
            StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace capsule::ca
