// `capsule swarm ca [--rotate]` against the fake daemon: the root printed, the update sent
// (ForceRotate + 1, the rest of the spec kept), progress until docker's convergence rule holds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/fake_daemon_test_util.h"
#include "testing/fake_clock.h"

namespace capsule::cli {
namespace {

using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;
using testing::RunWithClock;

std::string Swarm(const std::string& root, const std::string& key, bool rotating) {
  nlohmann::json j = {
      {"ID", "c1"},
      {"Version", {{"Index", 7}}},
      {"Spec", {{"Name", "default"}, {"CAConfig", {{"NodeCertExpiry", 1}, {"ForceRotate", 2}}}}},
      {"TLSInfo", {{"TrustRoot", root}, {"CertIssuerSubject", "S"}, {"CertIssuerPublicKey", key}}},
      {"RootRotationInProgress", rotating}};
  return j.dump();
}

std::string Nodes(const std::vector<std::pair<std::string, std::string>>& key_and_root) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [key, root] : key_and_root) {
    a.push_back(
        {{"ID", "n"},
         {"Description",
          {{"TLSInfo",
            {{"TrustRoot", root}, {"CertIssuerSubject", "S"}, {"CertIssuerPublicKey", key}}}}}});
  }
  return a.dump();
}

TEST(SwarmCaTest, WithoutRotatePrintsTheTrustRoot) {
  FakeDaemon daemon;
  daemon.On("GET", "/swarm", {200, Swarm("ROOT\n", "K", false)});
  CliResult r = RunAgainst(daemon, {"swarm", "ca"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ROOT\n");
}

TEST(SwarmCaTest, CertExpiryWithoutRotateIsRefused) {
  FakeDaemon daemon;
  daemon.On("GET", "/swarm", {200, Swarm("ROOT\n", "K", false)});
  CliResult r = RunAgainst(daemon, {"swarm", "ca", "--cert-expiry", "48h"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("`--cert-expiry` flag requires the `--rotate` flag to update the CA"),
            std::string::npos)
      << r.err;
}

TEST(SwarmCaTest, RotateSendsForceRotatePlusOneAndWaitsForEveryNode) {
  FakeDaemon daemon;
  daemon.OnSequence("GET", "/swarm",
                    {{200, Swarm("OLD\n", "K1", false)},
                     {200, Swarm("OLD\n", "K1", true)},
                     {200, Swarm("NEW\n", "K2", false)},
                     {200, Swarm("NEW\n", "K2", false)},
                     {200, Swarm("NEW\n", "K2", false)}});
  daemon.On("POST", "/swarm/update", {200, ""});
  daemon.OnSequence("GET", "/nodes",
                    {{200, Nodes({{"K1", "OLD\n"}, {"K2", "OLD\n"}})},
                     {200, Nodes({{"K2", "OLD\n"}, {"K2", "NEW\n"}})},
                     {200, Nodes({{"K2", "NEW\n"}, {"K2", "NEW\n"}})}});
  capsule::testing::FakeClock clock;
  CliResult r = RunWithClock(daemon, {"swarm", "ca", "--rotate", "--cert-expiry", "48h"}, clock);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "rotated TLS certificates: 1/2 nodes, rotated CA certificates: 0/2 nodes\n"
            "rotated TLS certificates: 2/2 nodes, rotated CA certificates: 1/2 nodes\n"
            "rotated TLS certificates: 2/2 nodes, rotated CA certificates: 2/2 nodes\n"
            "NEW\n");
  bool posted = false;
  for (const auto& req : daemon.requests()) {
    if (req.method != "POST") continue;
    posted = true;
    nlohmann::json spec = nlohmann::json::parse(req.body);
    EXPECT_EQ(spec["CAConfig"]["ForceRotate"].get<uint64_t>(), 3u);
    EXPECT_EQ(spec["CAConfig"]["NodeCertExpiry"].get<int64_t>(), 48LL * 3600 * 1000000000);
    EXPECT_NE(req.target.find("version=7"), std::string::npos) << req.target;
  }
  EXPECT_TRUE(posted);
}

}  // namespace
}  // namespace capsule::cli
