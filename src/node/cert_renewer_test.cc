#include "node/cert_renewer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ca/cert_info.h"
#include "ca/node_key.h"
#include "ca/root_ca.h"
#include "common/ids.h"
#include "crypto/random.h"
#include "testing/fake_clock.h"

namespace capsule::node {
namespace {

using ::capsule::testing::FakeClock;
using std::chrono::seconds;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

constexpr seconds kValidity{3600};

class CertRenewerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    char tmpl[] = "/tmp/capsule-renew-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    paths_ = CertificatesIn(dir_);
    state_.node_id = NewId();
    state_.cluster_id = NewId();
    state_.role = "manager";
    state_.advertise_addr = "127.0.0.1";
    StatusOr<ca::RootCa> root = ca::RootCa::Generate(clock_.Now());
    ASSERT_TRUE(root.ok()) << root.status();
    root_ = std::make_unique<ca::RootCa>(*std::move(root));
    // The first certificate, issued "now" on the fake clock.
    ASSERT_TRUE(std::filesystem::create_directories(paths_.dir));
    StatusOr<ca::NodeKeyAndCsr> key = ca::GenerateNodeKey();
    ASSERT_TRUE(key.ok());
    StatusOr<std::string> cert =
        SignLocalCertificate(*root_, state_, key->csr_pem, kValidity, clock_.Now());
    ASSERT_TRUE(cert.ok()) << cert.status();
    ASSERT_TRUE(ca::WriteNodeKeyFile(paths_.key, key->key_pem).ok());
    ASSERT_TRUE(ca::WriteCertFile(paths_.cert, *cert).ok());
    ASSERT_TRUE(ca::WriteCertFile(paths_.root_ca, root_->cert_pem()).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A manager's renewal: signs locally on the fake clock.
  CertRenewer::SignFn LocalSign() {
    return [this](const CertRenewalRequest& req) {
      ++sign_calls_;
      return SignLocalCertificate(*root_, state_, req.csr_pem, kValidity, clock_.Now());
    };
  }

  std::string dir_;
  CertificatePaths paths_;
  SwarmState state_;
  FakeClock clock_{
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now())};
  std::unique_ptr<ca::RootCa> root_;
  int sign_calls_ = 0;
};

TEST_F(CertRenewerTest, DoesNothingBeforeHalfLifeThenRenewsKeepingIdentityAndKey) {
  const std::string before = ReadFile(paths_.cert);
  StatusOr<ca::CertInfo> old_info = ca::ParseCertInfo(before);
  ASSERT_TRUE(old_info.ok());
  std::string handed_over;
  CertRenewer renewer(
      paths_, LocalSign(), [&](const std::string& cert, const SecretBytes&) { handed_over = cert; },
      clock_);

  clock_.Advance(kValidity / 2 - seconds(60));  // not due yet
  StatusOr<bool> r = renewer.CheckOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(*r);
  EXPECT_EQ(sign_calls_, 0);
  EXPECT_EQ(ReadFile(paths_.cert), before);
  EXPECT_TRUE(handed_over.empty());

  clock_.Advance(seconds(120));  // past half of the validity
  r = renewer.CheckOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  EXPECT_EQ(sign_calls_, 1);
  const std::string after = ReadFile(paths_.cert);
  EXPECT_NE(after, before);
  EXPECT_EQ(handed_over, after);
  StatusOr<ca::CertInfo> info = ca::ParseCertInfo(after);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->node_id, old_info->node_id);
  EXPECT_EQ(info->role, ca::NodeRole::kManager);
  EXPECT_EQ(info->cluster_id, old_info->cluster_id);
  EXPECT_EQ(info->ip_sans, old_info->ip_sans);
  EXPECT_GT(info->not_after, old_info->not_after);
  // Same key, and the new certificate chains to the root.
  StatusOr<SecretBytes> key = ca::ReadNodeKeyFile(paths_.key);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(ca::KeyMatchesCert(*key, after).ok());
  EXPECT_TRUE(ca::VerifyNodeCert(after, root_->cert_pem(), clock_.Now()).ok());

  // The fresh certificate is not due again at once.
  r = renewer.CheckOnce();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(sign_calls_, 1);
}

TEST_F(CertRenewerTest, RefusesACertificateForAnotherNodeAndKeepsTheFile) {
  const std::string before = ReadFile(paths_.cert);
  CertRenewer renewer(
      paths_,
      [this](const CertRenewalRequest& req) {
        SwarmState other = state_;
        other.node_id = NewId();
        return SignLocalCertificate(*root_, other, req.csr_pem, kValidity, clock_.Now());
      },
      nullptr, clock_);
  clock_.Advance(kValidity);
  StatusOr<bool> r = renewer.CheckOnce();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadFile(paths_.cert), before);
}

TEST_F(CertRenewerTest, SignErrorLeavesTheFileUnchanged) {
  const std::string before = ReadFile(paths_.cert);
  CertRenewer renewer(
      paths_,
      [](const CertRenewalRequest&) -> StatusOr<std::string> {
        return absl::UnavailableError("manager down");
      },
      nullptr, clock_);
  clock_.Advance(kValidity);
  EXPECT_EQ(renewer.CheckOnce().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ReadFile(paths_.cert), before);
}

TEST_F(CertRenewerTest, BackgroundThreadRenewsAndStops) {
  CertRenewer renewer(paths_, LocalSign(), nullptr, clock_);
  clock_.Advance(kValidity / 2 + seconds(1));
  const std::string before = ReadFile(paths_.cert);
  renewer.Start(std::chrono::milliseconds(20));
  ASSERT_TRUE(clock_.AwaitWaiters(1));  // the thread waits for its first check
  EXPECT_EQ(ReadFile(paths_.cert), before);
  clock_.Advance(std::chrono::milliseconds(20));
  ASSERT_TRUE(clock_.AwaitWaiters(1));  // the check is done; it waits for the next one
  EXPECT_NE(ReadFile(paths_.cert), before);
  renewer.Stop();
  EXPECT_EQ(clock_.waiters(), 0u);
}

TEST(RenewalDueAtTest, HalfOfTheGrantedValidityIgnoringTheBackdate) {
  const TimePoint issued = std::chrono::system_clock::now();
  // A 20 s certificate backdated by 5 minutes is due 10 s after issuance, not at once.
  EXPECT_EQ(RenewalDueAt(issued - ca::kBackdate, issued + seconds(20)), issued + seconds(10));
  EXPECT_EQ(RenewalDueAt(issued - ca::kBackdate, issued + std::chrono::hours(24)),
            issued + std::chrono::hours(12));
  // Without a backdate (a short certificate from elsewhere): half of the whole span.
  EXPECT_EQ(RenewalDueAt(issued, issued + seconds(20)), issued + seconds(10));
}

}  // namespace
}  // namespace capsule::node
