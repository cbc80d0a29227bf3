#include "ca/node_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "ca/cert_info.h"
#include "ca/root_ca.h"
#include "ca/test_util.h"
#include "common/ids.h"

namespace capsule::ca {
namespace {

using NodeKeyTest = testing::TempDirTest;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(NodeKeyTest, GeneratesP256KeyAndVerifiableCsr) {
  auto k = GenerateNodeKey("hint");
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_NE(k->key_pem.view().find("-----BEGIN PRIVATE KEY-----"), std::string_view::npos);
  EXPECT_NE(k->csr_pem.find("-----BEGIN CERTIFICATE REQUEST-----"), std::string::npos);
  auto k2 = GenerateNodeKey();
  ASSERT_TRUE(k2.ok());
  EXPECT_FALSE(k2->key_pem.Equals(k->key_pem.span()));
}

TEST_F(NodeKeyTest, CsrForExistingKeyCertifiesThatKey) {
  auto k = GenerateNodeKey();
  ASSERT_TRUE(k.ok());
  auto csr = CsrForKey(k->key_pem);
  ASSERT_TRUE(csr.ok()) << csr.status();
  auto root = RootCa::Generate();
  ASSERT_TRUE(root.ok());
  NodeCertRequest req;
  req.csr_pem = *csr;
  req.node_id = NewId();
  req.cluster_id = NewId();
  auto cert = root->Sign(req);
  ASSERT_TRUE(cert.ok()) << cert.status();
  EXPECT_TRUE(KeyMatchesCert(k->key_pem, *cert).ok());
  auto other = GenerateNodeKey();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(KeyMatchesCert(other->key_pem, *cert).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CsrForKey(SecretBytes::CopyFrom(std::string_view("junk"))).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(NodeKeyTest, KeyFileIs0600AndRoundTrips) {
  auto k = GenerateNodeKey();
  ASSERT_TRUE(k.ok());
  const std::string path = dir_ + "/swarm-node.key";
  ASSERT_TRUE(WriteNodeKeyFile(path, k->key_pem).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  auto read = ReadNodeKeyFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->Equals(k->key_pem.span()));

  // Replacing keeps 0600 and the new content.
  auto k2 = GenerateNodeKey();
  ASSERT_TRUE(k2.ok());
  ASSERT_TRUE(WriteNodeKeyFile(path, k2->key_pem).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  read = ReadNodeKeyFile(path);
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->Equals(k2->key_pem.span()));
}

TEST_F(NodeKeyTest, KeyFileReadIsStrict) {
  const std::string path = dir_ + "/swarm-node.key";
  EXPECT_EQ(ReadNodeKeyFile(path).status().code(), StatusCode::kNotFound);
  auto k = GenerateNodeKey();
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(WriteNodeKeyFile(path, k->key_pem).ok());
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto read = ReadNodeKeyFile(path);
  EXPECT_EQ(read.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(read.status().message()).find(path), std::string::npos);

  const std::string junk = dir_ + "/junk.key";
  ASSERT_TRUE(WriteNodeKeyFile(junk, SecretBytes::CopyFrom(std::string_view("junk"))).ok());
  EXPECT_EQ(ReadNodeKeyFile(junk).status().code(), StatusCode::kInvalidArgument);

  const std::string link = dir_ + "/link.key";
  ASSERT_EQ(::symlink(junk.c_str(), link.c_str()), 0);
  EXPECT_FALSE(ReadNodeKeyFile(link).ok());
}

TEST_F(NodeKeyTest, CertFileIs0644) {
  auto root = RootCa::Generate();
  ASSERT_TRUE(root.ok());
  const std::string path = dir_ + "/swarm-root-ca.crt";
  ASSERT_TRUE(WriteCertFile(path, root->cert_pem()).ok());
  EXPECT_EQ(ModeOf(path), 0644u);
  std::ifstream f(path);
  std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, root->cert_pem());
}

}  // namespace
}  // namespace capsule::ca
