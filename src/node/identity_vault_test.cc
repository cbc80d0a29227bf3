#include "node/identity_vault.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ca/node_key.h"
#include "crypto/aead.h"
#include "crypto/random.h"

namespace capsule::node {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(NodeKeyEnvelopeTest, RoundTripsAndRefusesAWrongKey) {
  ASSERT_TRUE(crypto::InitCrypto().ok());
  SecretBytes kek = crypto::RandomKey(crypto::kKeySize);
  SecretBytes pem = SecretBytes::CopyFrom(std::string_view("-----BEGIN PRIVATE KEY-----x"));
  StatusOr<std::string> sealed = SealNodeKey(kek, pem);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->find("PRIVATE KEY"), std::string::npos);
  StatusOr<SecretBytes> back = OpenNodeKey(kek, *sealed);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->view(), pem.view());
  StatusOr<SecretBytes> wrong = OpenNodeKey(crypto::RandomKey(crypto::kKeySize), *sealed);
  EXPECT_EQ(wrong.status().code(), StatusCode::kDataLoss);
  std::string tampered = *sealed;
  tampered.back() ^= 1;
  EXPECT_FALSE(OpenNodeKey(kek, tampered).ok());
}

// Mounting needs root (CAP_SYS_ADMIN), as capsuled itself.
class IdentityVaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (mount)";
    ASSERT_TRUE(crypto::InitCrypto().ok());
    char tmpl[] = "/tmp/capsule-vault-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    paths_ = CertificatesIn(root_);
    std::filesystem::create_directories(paths_.dir);
    StatusOr<ca::NodeKeyAndCsr> key = ca::GenerateNodeKey();
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(ca::WriteNodeKeyFile(paths_.key, key->key_pem).ok());
    ASSERT_TRUE(ca::WriteCertFile(paths_.cert, "CERT").ok());
    ASSERT_TRUE(ca::WriteCertFile(paths_.root_ca, "ROOT").ok());
    key_pem_ = std::string(key->key_pem.view());
  }
  void TearDown() override {
    if (root_.empty()) return;
    (void)IdentityVault::ClearStale(paths_);
    std::filesystem::remove_all(root_);
  }
  std::string root_;
  CertificatePaths paths_;
  std::string key_pem_;
  SecretBytes kek_ = crypto::RandomKey(crypto::kKeySize);
};

TEST_F(IdentityVaultTest, SealedUnderneathClearOnlyOnTheTmpfs) {
  {
    IdentityVault vault(paths_);
    ASSERT_TRUE(vault.Cover(kek_).ok());
    ASSERT_TRUE(vault.SyncUnderneath(kek_, /*sealed=*/true).ok());
    EXPECT_EQ(Slurp(paths_.key), key_pem_);  // readers see the key on the tmpfs
    EXPECT_EQ(Slurp(paths_.cert), "CERT");
  }  // uncovered
  EXPECT_FALSE(std::filesystem::exists(paths_.key));
  EXPECT_TRUE(std::filesystem::exists(paths_.dir + "/" + kSealedNodeKeyName));
  struct stat st;
  ASSERT_EQ(::stat((paths_.dir + "/" + kSealedNodeKeyName).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Slurp(paths_.dir + "/" + kSealedNodeKeyName).find("PRIVATE"), std::string::npos);

  IdentityVault wrong(paths_);
  EXPECT_FALSE(wrong.Cover(crypto::RandomKey(crypto::kKeySize)).ok());
  EXPECT_FALSE(wrong.covered());

  IdentityVault again(paths_);
  ASSERT_TRUE(again.HasSealedKey());
  ASSERT_TRUE(again.Cover(kek_).ok());
  EXPECT_EQ(Slurp(paths_.key), key_pem_);
  ASSERT_TRUE(again.SyncUnderneath(kek_, /*sealed=*/false).ok());  // autolock off
  again.Uncover();
  EXPECT_EQ(Slurp(paths_.key), key_pem_);
  EXPECT_FALSE(std::filesystem::exists(paths_.dir + "/" + kSealedNodeKeyName));
}

TEST_F(IdentityVaultTest, ClearStaleUnmountsALeftOverTmpfs) {
  auto vault = std::make_unique<IdentityVault>(paths_);
  ASSERT_TRUE(vault->Cover(kek_).ok());
  ASSERT_TRUE(vault->SyncUnderneath(kek_, true).ok());
  (void)vault.release();  // as after kill -9: nobody unmounts
  EXPECT_EQ(Slurp(paths_.key), key_pem_);
  ASSERT_TRUE(IdentityVault::ClearStale(paths_).ok());
  EXPECT_FALSE(std::filesystem::exists(paths_.key));
  EXPECT_TRUE(IdentityVault(paths_).HasSealedKey());
}

}  // namespace
}  // namespace capsule::node
