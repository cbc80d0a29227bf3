#include "ca/authorizer.h"

#include <gtest/gtest.h>

#include <set>

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

}  // namespace
}  // namespace capsule::ca
