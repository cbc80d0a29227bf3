// The pieces of a root rotation: the cross-signed intermediate, verification against a bundle
// of roots, the issuer a node certificate reports, and SigningCa's swap.
#include <gtest/gtest.h>

#include "ca/cert_info.h"
#include "ca/issuer_info.h"
#include "ca/node_key.h"
#include "ca/root_ca.h"
#include "ca/signing_ca.h"
#include "crypto/random.h"

namespace capsule::ca {
namespace {

class CaRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    auto old_root = RootCa::Generate(now_);
    auto new_root = RootCa::Generate(now_);
    ASSERT_TRUE(old_root.ok() && new_root.ok());
    old_ = std::make_unique<RootCa>(std::move(*old_root));
    new_ = std::make_unique<RootCa>(std::move(*new_root));
    auto key = GenerateNodeKey("n");
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = std::move(*key);
  }
  NodeCertRequest Request() const {
    NodeCertRequest req;
    req.csr_pem = key_.csr_pem;
    req.node_id = "abcdefghijklmnopqrstuvwxy";
    req.cluster_id = "cluster1";
    req.ip_sans = {"127.0.0.1"};
    return req;
  }
  TimePoint now_ = std::chrono::system_clock::now();
  std::unique_ptr<RootCa> old_, new_;
  NodeKeyAndCsr key_;
};

TEST_F(CaRotationTest, CrossSignedChainVerifiesAgainstTheOldRootOnly) {
  auto cross = old_->CrossSign(new_->cert_pem(), now_);
  ASSERT_TRUE(cross.ok()) << cross.status();
  auto leaf = new_->Sign(Request(), now_);
  ASSERT_TRUE(leaf.ok()) << leaf.status();
  // The bare leaf does not chain to the old root; with the intermediate it does.
  EXPECT_FALSE(VerifyNodeCert(*leaf, old_->cert_pem(), now_).ok());
  EXPECT_TRUE(VerifyNodeCert(*leaf + *cross, old_->cert_pem(), now_).ok());
  // And it chains to the new root, with or without the intermediate.
  EXPECT_TRUE(VerifyNodeCert(*leaf, new_->cert_pem(), now_).ok());
  EXPECT_TRUE(VerifyNodeCert(*leaf + *cross, new_->cert_pem(), now_).ok());
}

TEST_F(CaRotationTest, CertificateOfTheOldRootIsRefusedByTheNewRoot) {
  auto leaf = old_->Sign(Request(), now_);
  ASSERT_TRUE(leaf.ok());
  EXPECT_TRUE(absl::IsPermissionDenied(VerifyNodeCert(*leaf, new_->cert_pem(), now_)));
  // A bundle of both roots accepts both kinds.
  const std::string bundle = old_->cert_pem() + new_->cert_pem();
  EXPECT_TRUE(VerifyNodeCert(*leaf, bundle, now_).ok());
  auto fresh = new_->Sign(Request(), now_);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(VerifyNodeCert(*fresh, bundle, now_).ok());
}

TEST_F(CaRotationTest, CrossSignRefusesANonCaCertificate) {
  auto leaf = new_->Sign(Request(), now_);
  ASSERT_TRUE(leaf.ok());
  EXPECT_TRUE(absl::IsInvalidArgument(old_->CrossSign(*leaf, now_).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(old_->CrossSign("junk", now_).status()));
}

TEST_F(CaRotationTest, LeafIssuerInfoNamesTheKeyThatSigned) {
  auto cross = old_->CrossSign(new_->cert_pem(), now_);
  auto leaf = new_->Sign(Request(), now_);
  ASSERT_TRUE(cross.ok() && leaf.ok());
  auto want = ReadIssuerInfo(new_->cert_pem());
  ASSERT_TRUE(want.ok());
  // Found through the intermediate, and through the candidate roots.
  auto via_chain = LeafIssuerInfo(*leaf + *cross, old_->cert_pem());
  ASSERT_TRUE(via_chain.ok()) << via_chain.status();
  EXPECT_EQ(via_chain->public_key_b64, want->public_key_b64);
  EXPECT_EQ(via_chain->subject_b64, want->subject_b64);
  auto via_roots = LeafIssuerInfo(*leaf, old_->cert_pem() + new_->cert_pem());
  ASSERT_TRUE(via_roots.ok());
  EXPECT_EQ(via_roots->public_key_b64, want->public_key_b64);
  EXPECT_TRUE(absl::IsNotFound(LeafIssuerInfo(*leaf, old_->cert_pem()).status()));
  EXPECT_TRUE(SignedDirectlyBy(*leaf + *cross, new_->cert_pem()));
  EXPECT_FALSE(SignedDirectlyBy(*leaf + *cross, old_->cert_pem()));
}

TEST_F(CaRotationTest, SigningCaAppendsTheIntermediateOnlyWhileRotating) {
  auto old_copy = RootCa::FromPem(old_->cert_pem(), *old_->KeyPem());
  ASSERT_TRUE(old_copy.ok());
  SigningCa ca(std::move(*old_copy));
  EXPECT_FALSE(ca.rotating());
  EXPECT_EQ(ca.trust_root_pem(), old_->cert_pem());
  EXPECT_EQ(ca.trusted_bundle_pem(), old_->cert_pem());

  auto cross = old_->CrossSign(new_->cert_pem(), now_);
  auto signer = RootCa::FromPem(new_->cert_pem(), *new_->KeyPem());
  ASSERT_TRUE(cross.ok() && signer.ok());
  ca.Set(old_->cert_pem(), std::move(*signer), *cross);
  EXPECT_TRUE(ca.rotating());
  EXPECT_EQ(ca.trust_root_pem(), old_->cert_pem());
  EXPECT_EQ(ca.signing_root_pem(), new_->cert_pem());
  EXPECT_EQ(ca.trusted_bundle_pem(), old_->cert_pem() + new_->cert_pem());
  auto during = ca.Sign(Request(), now_);
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_NE(during->find(*cross), std::string::npos);
  EXPECT_TRUE(VerifyNodeCert(*during, old_->cert_pem(), now_).ok());

  auto done = RootCa::FromPem(new_->cert_pem(), *new_->KeyPem());
  ASSERT_TRUE(done.ok());
  ca.Set(new_->cert_pem(), std::move(*done), "");
  EXPECT_FALSE(ca.rotating());
  auto after = ca.Sign(Request(), now_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->find(*cross), std::string::npos);
  EXPECT_TRUE(VerifyNodeCert(*after, new_->cert_pem(), now_).ok());
  EXPECT_FALSE(VerifyNodeCert(*after, old_->cert_pem(), now_).ok());
}

}  // namespace
}  // namespace capsule::ca
