#include "ca/root_ca.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include <memory>
#include <thread>

#include "ca/cert_info.h"
#include "ca/node_key.h"
#include "common/ids.h"
#include "crypto/random.h"

namespace capsule::ca {
namespace {

using std::chrono::hours;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr ReadCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

bool ExtensionIsCritical(X509* cert, int nid) {
  int idx = X509_get_ext_by_NID(cert, nid, -1);
  return idx >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, idx)) == 1;
}

class RootCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    auto root = RootCa::Generate(now_);
    ASSERT_TRUE(root.ok()) << root.status();
    root_ = std::make_unique<RootCa>(std::move(*root));
    auto key = GenerateNodeKey("evil-claims-to-be-manager");
    ASSERT_TRUE(key.ok()) << key.status();
    node_key_ = std::move(*key);
  }

  NodeCertRequest Request(NodeRole role = NodeRole::kManager) {
    NodeCertRequest req;
    req.csr_pem = node_key_.csr_pem;
    req.node_id = node_id_;
    req.role = role;
    req.cluster_id = cluster_id_;
    req.ip_sans = {"127.0.0.2", "::1"};
    return req;
  }

  TimePoint now_ =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  std::unique_ptr<RootCa> root_;
  NodeKeyAndCsr node_key_;
  std::string node_id_ = NewId();
  std::string cluster_id_ = NewId();
};

TEST_F(RootCaTest, RootIsSelfSignedP256Ca) {
  X509Ptr cert = ReadCert(root_->cert_pem());
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_TRUE(ExtensionIsCritical(cert.get(), NID_basic_constraints));
  EXPECT_TRUE(ExtensionIsCritical(cert.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);
  char cn[64] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof(cn));
  EXPECT_STREQ(cn, "swarm-ca");
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(pub, "EC"));
  EXPECT_EQ(EVP_PKEY_get_bits(pub), 256);
  EXPECT_EQ(X509_verify(cert.get(), pub), 1);
  // Valid for 20 years from (a little before) now.
  int days = 0, secs = 0;
  ASSERT_EQ(
      ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get())),
      1);
  EXPECT_GE(days, 20 * 365);
  EXPECT_LE(days, 20 * 366);
}

TEST_F(RootCaTest, IssuedCertCarriesTheCasIdentityNotTheCsrs) {
  auto pem = root_->Sign(Request(NodeRole::kManager), now_);
  ASSERT_TRUE(pem.ok()) << pem.status();
  auto info = ParseCertInfo(*pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->node_id, node_id_);
  EXPECT_EQ(info->role, NodeRole::kManager);
  EXPECT_EQ(info->cluster_id, cluster_id_);
  EXPECT_EQ(info->dns_sans, (std::vector<std::string>{"swarm-manager", node_id_}));
  EXPECT_EQ(info->ip_sans, (std::vector<std::string>{"127.0.0.2", "::1"}));
  EXPECT_EQ(info->not_before, now_ - kBackdate);
  EXPECT_EQ(info->not_after, now_ + kDefaultNodeCertValidity);
  EXPECT_EQ(pem->find("evil"), std::string::npos);

  X509Ptr cert = ReadCert(*pem);
  ASSERT_TRUE(cert);
  char buf[128] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, buf, sizeof(buf));
  EXPECT_EQ(std::string(buf), node_id_);
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_organizationalUnitName, buf,
                            sizeof(buf));
  EXPECT_STREQ(buf, "swarm-manager");
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_TRUE(ExtensionIsCritical(cert.get(), NID_key_usage));
  EXPECT_TRUE(KeyMatchesCert(node_key_.key_pem, *pem).ok());
  EXPECT_EQ(X509_check_host(cert.get(), "swarm-manager", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.2", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.3", 0), 0);
}

TEST_F(RootCaTest, WorkerCertHasWorkerRole) {
  auto pem = root_->Sign(Request(NodeRole::kWorker), now_);
  ASSERT_TRUE(pem.ok()) << pem.status();
  auto info = ParseCertInfo(*pem);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->role, NodeRole::kWorker);
  EXPECT_EQ(info->dns_sans, (std::vector<std::string>{"swarm-worker", node_id_}));
}

TEST_F(RootCaTest, IssuedCertVerifiesOnlyAgainstItsRootAndWhileValid) {
  auto pem = root_->Sign(Request(), now_);
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_TRUE(VerifyNodeCert(*pem, root_->cert_pem(), now_).ok());
  auto info = VerifyAndParseNodeCert(*pem, root_->cert_pem(), now_);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->node_id, node_id_);

  auto other = RootCa::Generate(now_);
  ASSERT_TRUE(other.ok());
  Status st = VerifyNodeCert(*pem, other->cert_pem(), now_);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st;
  EXPECT_EQ(VerifyAndParseNodeCert(*pem, other->cert_pem(), now_).status().code(),
            StatusCode::kPermissionDenied);

  st = VerifyNodeCert(*pem, root_->cert_pem(), now_ + kDefaultNodeCertValidity + hours(1));
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied) << st;
  EXPECT_NE(std::string(st.message()).find("expired"), std::string::npos) << st;
  EXPECT_EQ(VerifyNodeCert(*pem, root_->cert_pem(), now_ - hours(1)).code(),
            StatusCode::kPermissionDenied);

  // A self-signed certificate (here: another root) claiming to be a node does not verify.
  EXPECT_EQ(VerifyNodeCert(other->cert_pem(), root_->cert_pem(), now_).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(VerifyNodeCert("garbage", root_->cert_pem(), now_).code(),
            StatusCode::kPermissionDenied);
}

TEST_F(RootCaTest, ValidityIsCappedAtTheRootsExpiry) {
  NodeCertRequest req = Request();
  req.validity = std::chrono::duration_cast<std::chrono::seconds>(kRootValidity + hours(24 * 365));
  auto pem = root_->Sign(req, now_);
  ASSERT_TRUE(pem.ok()) << pem.status();
  auto info = ParseCertInfo(*pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->not_after, now_ + kRootValidity);
}

TEST_F(RootCaTest, SignRejectsBadRequests) {
  NodeCertRequest req = Request();
  req.node_id = "Not-An-Id";
  EXPECT_EQ(root_->Sign(req, now_).status().code(), StatusCode::kInvalidArgument);

  req = Request();
  req.cluster_id = "a,b";
  EXPECT_EQ(root_->Sign(req, now_).status().code(), StatusCode::kInvalidArgument);

  req = Request();
  req.ip_sans = {"127.0.0.1,DNS:swarm-manager"};
  EXPECT_EQ(root_->Sign(req, now_).status().code(), StatusCode::kInvalidArgument);

  req = Request();
  req.validity = std::chrono::seconds(0);
  EXPECT_EQ(root_->Sign(req, now_).status().code(), StatusCode::kInvalidArgument);

  req = Request();
  req.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
  EXPECT_EQ(root_->Sign(req, now_).status().code(), StatusCode::kInvalidArgument);

  // A CSR whose self-signature does not verify (proof of possession fails): swap in the
  // public key of another CSR by signing one key's request body with another key is not
  // expressible with the PEM API, so corrupt the signature bytes instead.
  req = Request();
  X509_REQ* csr = nullptr;
  {
    BIO* bio = BIO_new_mem_buf(req.csr_pem.data(), static_cast<int>(req.csr_pem.size()));
    csr = PEM_read_bio_X509_REQ(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
  }
  ASSERT_NE(csr, nullptr);
  const ASN1_BIT_STRING* sig = nullptr;
  X509_REQ_get0_signature(csr, &sig, nullptr);
  ASSERT_NE(sig, nullptr);
  const_cast<unsigned char*>(ASN1_STRING_get0_data(sig))[10] ^= 0x01;
  {
    BIO* bio = BIO_new(BIO_s_mem());
    ASSERT_EQ(PEM_write_bio_X509_REQ(bio, csr), 1);
    char* p = nullptr;
    long n = BIO_get_mem_data(bio, &p);
    req.csr_pem.assign(p, static_cast<size_t>(n));
    BIO_free(bio);
  }
  X509_REQ_free(csr);
  auto bad = root_->Sign(req, now_);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument) << bad.status();

  // Not P-256.
  EVP_PKEY* p384 = EVP_EC_gen("P-384");
  ASSERT_NE(p384, nullptr);
  X509_REQ* r = X509_REQ_new();
  X509_REQ_set_pubkey(r, p384);
  ASSERT_GT(X509_REQ_sign(r, p384, EVP_sha256()), 0);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(bio, r);
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  req = Request();
  req.csr_pem.assign(p, static_cast<size_t>(n));
  BIO_free(bio);
  X509_REQ_free(r);
  EVP_PKEY_free(p384);
  EXPECT_EQ(root_->Sign(req, now_).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RootCaTest, ExportImportRoundTrip) {
  auto key_pem = root_->KeyPem();
  ASSERT_TRUE(key_pem.ok()) << key_pem.status();
  EXPECT_NE(key_pem->view().find("PRIVATE KEY"), std::string_view::npos);
  auto loaded = RootCa::FromPem(root_->cert_pem(), *key_pem);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->cert_pem(), root_->cert_pem());
  EXPECT_EQ(loaded->Digest(), root_->Digest());
  auto pem = loaded->Sign(Request(), now_);
  ASSERT_TRUE(pem.ok()) << pem.status();
  EXPECT_TRUE(VerifyNodeCert(*pem, root_->cert_pem(), now_).ok());

  auto other = RootCa::Generate(now_);
  ASSERT_TRUE(other.ok());
  auto other_key = other->KeyPem();
  ASSERT_TRUE(other_key.ok());
  EXPECT_EQ(RootCa::FromPem(root_->cert_pem(), *other_key).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RootCa::FromPem("nope", *key_pem).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RootCa::FromPem(root_->cert_pem(), SecretBytes::CopyFrom(std::string_view("x")))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  // A node certificate with its key is not a CA.
  EXPECT_EQ(RootCa::FromPem(*pem, node_key_.key_pem).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RootCaTest, DigestIsSha256OfCertPemInHex) {
  uint8_t md[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(md, reinterpret_cast<const uint8_t*>(root_->cert_pem().data()),
                     root_->cert_pem().size());
  char hex[2 * sizeof(md) + 1];
  sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
  EXPECT_EQ(root_->Digest(), std::string(hex));
  auto other = RootCa::Generate(now_);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->Digest(), root_->Digest());
}

TEST_F(RootCaTest, ConcurrentSigningProducesValidCerts) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto pem = root_->Sign(Request(), now_);
        if (pem.ok() && VerifyNodeCert(*pem, root_->cert_pem(), now_).ok()) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 40);
}

}  // namespace
}  // namespace capsule::ca
