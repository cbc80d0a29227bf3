// A root CA rotation on the MemoryStore, with a FakeClock: `swarm update` with a new
// ForceRotate (or a supplied cert+key) starts it (controlapi/root_rotation.h), the leader's
// RootRotationFinisher ends it only once every node reports a certificate of the new root, and
// the end makes the new root current, replaces the join tokens and drops the old root's key.
#include "manager/controlapi/root_rotation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "ca/issuer_info.h"
#include "ca/join_token.h"
#include "ca/root_ca.h"
#include "crypto/random.h"
#include "manager/controlapi/cluster.h"
#include "node/root_rotation_finisher.h"
#include "store/memory_store.h"
#include "store/read_model.h"
#include "testing/fake_clock.h"

namespace capsule::node {
namespace {

class RootRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    ASSERT_TRUE(reads_.Start().ok());
    auto root = ca::RootCa::Generate(clock_.Now());
    ASSERT_TRUE(root.ok());
    old_root_ = root->cert_pem();
    auto key = root->KeyPem();
    ASSERT_TRUE(key.ok());
    nlohmann::json meta = {{"CertPem", old_root_}};
    ASSERT_TRUE(store_.Create({kCaKind, "root", ""}, {meta.dump(), *std::move(key)}).ok());
    Cluster c;
    c.id = "cluster1";
    c.root_ca_cert_pem = old_root_;
    c.worker_join_token = ca::NewJoinToken(old_root_);
    c.manager_join_token = ca::NewJoinToken(old_root_);
    ASSERT_TRUE(store_.Create({kClusterKind, c.id, ""}, {EncodeClusterMeta(c), {}}).ok());
    for (const char* id : {"n1", "n2"}) SetIssuer(id, old_root_, /*create=*/true);
  }

  // Node `id` reports a certificate issued by `root_pem`.
  void SetIssuer(const std::string& id, const std::string& root_pem, bool create = false) {
    StatusOr<ca::IssuerInfo> issuer = ca::ReadIssuerInfo(root_pem);
    ASSERT_TRUE(issuer.ok());
    Node n;
    n.id = id;
    int64_t rev = 0;
    if (!create) {
      StatusOr<store::StoredRecord> rec = store_.Get(kNodesKind, id);
      ASSERT_TRUE(rec.ok());
      n = *DecodeNodeMeta(rec->record.meta);
      rev = rec->mod_revision;
    }
    n.tls_trust_root = old_root_;
    n.tls_issuer_subject = issuer->subject_b64;
    n.tls_issuer_public_key = issuer->public_key_b64;
    if (create) {
      ASSERT_TRUE(store_.Create({kNodesKind, id, ""}, {EncodeNodeMeta(n), {}}).ok());
    } else {
      ASSERT_TRUE(store_.Update({kNodesKind, id, ""}, rev, {EncodeNodeMeta(n), {}}).ok());
    }
    ASSERT_TRUE(reads_.WaitFresh().ok());
  }

  Cluster Current() {
    EXPECT_TRUE(reads_.WaitFresh().ok());
    return reads_.GetCluster()->object;
  }

  Status Update(uint64_t force_rotate, const std::string& cert = "", const std::string& key = "") {
    EXPECT_TRUE(reads_.WaitFresh().ok());
    store::ClusterEntry e = reads_.GetCluster();
    controlapi::ClusterUpdate u;
    u.spec = e->object.spec;
    u.spec.ca_force_rotate = force_rotate;
    u.spec.signing_ca_cert = cert;
    u.signing_ca_key = SecretBytes::CopyFrom(key);
    return api_.Update(e->mod_revision, u);
  }

  testing::FakeClock clock_{std::chrono::system_clock::now()};
  store::MemoryStore store_;
  store::ReadModel reads_{store_};
  controlapi::ClusterApi api_{store_, reads_, clock_};
  RootRotationFinisher finisher_{store_, reads_, clock_};
  std::string old_root_;
};

TEST_F(RootRotationTest, SameForceRotateStartsNothing) {
  ASSERT_TRUE(Update(0).ok());
  EXPECT_TRUE(Current().rotation_cert_pem.empty());
  StatusOr<bool> r = finisher_.Tick();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
}

TEST_F(RootRotationTest, NewForceRotateStartsARotationWithACrossSignedRoot) {
  ASSERT_TRUE(Update(1).ok());
  Cluster c = Current();
  ASSERT_FALSE(c.rotation_cert_pem.empty());
  EXPECT_NE(c.rotation_cert_pem, old_root_);
  EXPECT_EQ(c.root_ca_cert_pem, old_root_);  // TrustRoot stays the old root meanwhile
  EXPECT_FALSE(c.rotation_cross_signed_pem.empty());
  EXPECT_EQ(c.spec.ca_force_rotate, 1u);
  // The new root's key is stored; the cluster JSON says a rotation runs.
  EXPECT_TRUE(controlapi::LoadRootCa(store_, c.rotation_cert_pem).ok());
  EXPECT_TRUE(ClusterJson(c, 1, false)["RootRotationInProgress"].get<bool>());
  EXPECT_EQ(ClusterJson(c, 1, false)["Spec"]["CAConfig"]["ForceRotate"].get<uint64_t>(), 1u);
}

TEST_F(RootRotationTest, FinishesOnlyOnceEveryNodeHasACertificateOfTheNewRoot) {
  const std::string worker_token = Current().worker_join_token;
  ASSERT_TRUE(Update(1).ok());
  const std::string new_root = Current().rotation_cert_pem;
  StatusOr<bool> r = finisher_.Tick();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  SetIssuer("n1", new_root);
  r = finisher_.Tick();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);  // n2 still holds a certificate of the old root
  EXPECT_FALSE(Current().rotation_cert_pem.empty());

  SetIssuer("n2", new_root);
  r = finisher_.Tick();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  Cluster c = Current();
  EXPECT_EQ(c.root_ca_cert_pem, new_root);
  EXPECT_TRUE(c.rotation_cert_pem.empty());
  EXPECT_FALSE(ClusterJson(c, 1, false)["RootRotationInProgress"].get<bool>());
  // The join tokens name the new root now: the old ones are refused from here on.
  EXPECT_NE(c.worker_join_token, worker_token);
  StatusOr<ca::JoinToken> parsed = ca::ParseJoinToken(c.worker_join_token);
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(ca::JoinTokenMatchesRoot(*parsed, new_root));
  // The old root's key is gone, the new one's stays.
  EXPECT_FALSE(controlapi::LoadRootCa(store_, old_root_).ok());
  EXPECT_TRUE(controlapi::LoadRootCa(store_, new_root).ok());
}

TEST_F(RootRotationTest, SuppliedCertAndKeyThatMatchStartARotationToThatRoot) {
  auto supplied = ca::RootCa::Generate(clock_.Now());
  ASSERT_TRUE(supplied.ok());
  auto key = supplied->KeyPem();
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(Update(0, supplied->cert_pem(), std::string(key->view())).ok());
  EXPECT_EQ(Current().rotation_cert_pem, supplied->cert_pem());
}

TEST_F(RootRotationTest, SuppliedCertWithAnotherRootsKeyIsRefusedWithDockersMessage) {
  auto a = ca::RootCa::Generate(clock_.Now());
  auto b = ca::RootCa::Generate(clock_.Now());
  ASSERT_TRUE(a.ok() && b.ok());
  auto key = b->KeyPem();
  ASSERT_TRUE(key.ok());
  Status s = Update(0, a->cert_pem(), std::string(key->view()));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "certificate key mismatch");
  EXPECT_TRUE(Current().rotation_cert_pem.empty());
}

TEST_F(RootRotationTest, KeyWithoutCertIsRefused) {
  Status s = Update(0, "", "-----BEGIN PRIVATE KEY-----\n");
  EXPECT_TRUE(absl::IsInvalidArgument(s));
  EXPECT_EQ(s.message(),
            "if a signing CA key is provided, the signing CA cert must also be provided");
}

TEST(RotationConvergedTest, FalseWithoutARotation) {
  EXPECT_FALSE(RotationConverged(Cluster{}, {}));
}

}  // namespace
}  // namespace capsule::node
