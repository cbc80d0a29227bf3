// `capsule swarm init|leave` against the fake daemon.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/fake_daemon_test_util.h"

namespace capsule::cli {
namespace {

using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;

constexpr char kNode[] = "nodeid0123456789abcdefghi";

void ServeInit(FakeDaemon& daemon) {
  daemon.On("POST", "/swarm/init", {200, std::string("\"") + kNode + "\"\n"});
}

TEST(SwarmInitTest, SendsDockerBodyAndPrintsJoinHint) {
  FakeDaemon daemon;
  ServeInit(daemon);
  daemon.On("GET", std::string("/nodes/") + kNode,
            {200, R"({"ID":"x","ManagerStatus":{"Leader":true,"Addr":"127.0.0.1:2377"}})"});
  daemon.On("GET", "/swarm",
            {200, R"({"ID":"c","JoinTokens":{"Worker":"SWMTKN-1-w","Manager":"SWMTKN-1-m"}})"});
  CliResult r = RunAgainst(daemon, {"swarm", "init", "--advertise-addr", "127.0.0.1",
                                    "--listen-addr", "127.0.0.1:2377"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Swarm initialized: current node (nodeid0123456789abcdefghi) is now a manager.\n\n"
            "To add a worker to this swarm, run the following command:\n\n"
            "    capsule swarm join --token SWMTKN-1-w 127.0.0.1:2377\n\n"
            "To add a manager to this swarm, run 'capsule swarm join-token manager' and follow "
            "the instructions.\n\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].target, "/v1.41/swarm/init");
  auto body = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(body["ListenAddr"], "127.0.0.1:2377");
  EXPECT_EQ(body["AdvertiseAddr"], "127.0.0.1");
  EXPECT_EQ(body["ForceNewCluster"], false);
  EXPECT_EQ(body["AutoLockManagers"], false);
  EXPECT_TRUE(body["Spec"].is_object());
  EXPECT_EQ(reqs[1].target, std::string("/v1.41/nodes/") + kNode);
  EXPECT_EQ(reqs[2].target, "/v1.41/swarm");
}

TEST(SwarmInitTest, DefaultsLikeDockerAndFlags) {
  FakeDaemon daemon;
  ServeInit(daemon);
  daemon.On("GET", std::string("/nodes/") + kNode, {200, R"({"ID":"x"})"});
  daemon.On("GET", "/swarm", {200, R"({"ID":"c"})"});
  daemon.On("GET", "/swarm/unlockkey", {200, R"({"UnlockKey":"SWMKEY-1-abc"})"});
  CliResult r = RunAgainst(daemon, {"swarm", "init", "--autolock", "--force-new-cluster"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto body = nlohmann::json::parse(daemon.requests()[0].body);
  EXPECT_EQ(body["ListenAddr"], "0.0.0.0:2377");
  EXPECT_EQ(body["AdvertiseAddr"], "");
  EXPECT_EQ(body["ForceNewCluster"], true);
  EXPECT_EQ(body["AutoLockManagers"], true);
  EXPECT_EQ(body["Spec"]["EncryptionConfig"]["AutoLockManagers"], true);
  // No ManagerStatus → no worker command; the unlock key is printed.
  EXPECT_EQ(r.out.find("To add a worker"), std::string::npos);
  EXPECT_NE(r.out.find("\n    SWMKEY-1-abc\n"), std::string::npos) << r.out;
}

TEST(SwarmInitTest, OnlyFirstLineWhenNodeLookupIs404) {
  FakeDaemon daemon;
  ServeInit(daemon);  // /nodes/… and /swarm are unknown routes → 404
  CliResult r = RunAgainst(daemon, {"swarm", "init"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Swarm initialized: current node (nodeid0123456789abcdefghi) is now a manager.\n");
}

TEST(SwarmInitTest, AlreadyInSwarm) {
  FakeDaemon daemon;
  daemon.On("POST", "/swarm/init",
            {503,
             "{\"message\":\"This node is already part of a swarm. Use \\\"docker swarm leave\\\" "
             "to leave this swarm and join another one.\"}\n"});
  CliResult r = RunAgainst(daemon, {"swarm", "init"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error response from daemon: This node is already part of a swarm. Use \"docker swarm "
            "leave\" to leave this swarm and join another one.\n");
}

TEST(SwarmLeaveTest, ForceQueryLikeDocker) {
  FakeDaemon daemon;
  daemon.On("POST", "/swarm/leave", {200, ""});
  CliResult r = RunAgainst(daemon, {"swarm", "leave"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Node left the swarm.\n");
  r = RunAgainst(daemon, {"swarm", "leave", "--force"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/v1.41/swarm/leave");
  EXPECT_EQ(reqs[1].target, "/v1.41/swarm/leave?force=1");
}

TEST(SwarmLeaveTest, NotInSwarm) {
  FakeDaemon daemon;
  daemon.On("POST", "/swarm/leave", {503, "{\"message\":\"This node is not part of a swarm\"}\n"});
  CliResult r = RunAgainst(daemon, {"swarm", "leave"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error response from daemon: This node is not part of a swarm\n");
}

}  // namespace
}  // namespace capsule::cli

namespace capsule::cli {
namespace {

constexpr char kSwarmOn[] =
    R"({"ID":"c","Version":{"Index":7},"Spec":{"Name":"default","EncryptionConfig":{"AutoLockManagers":true}}})";
constexpr char kSwarmOff[] =
    R"({"ID":"c","Version":{"Index":7},"Spec":{"Name":"default","EncryptionConfig":{"AutoLockManagers":false}}})";
constexpr char kKeyBanner[] =
    "To unlock a swarm manager after it restarts, run the `capsule swarm unlock`\n"
    "command and provide the following key:\n\n    SWMKEY-1-abc\n\n"
    "Please remember to store this key in a password manager, since without it you\n"
    "will not be able to restart the manager.\n";

TEST(SwarmUpdateTest, AutolockOnSendsTheSpecAndPrintsTheKey) {
  FakeDaemon daemon;
  daemon.On("GET", "/swarm", {200, kSwarmOff});
  daemon.On("POST", "/swarm/update", {200, ""});
  daemon.On("GET", "/swarm/unlockkey", {200, R"({"UnlockKey":"SWMKEY-1-abc"})"});
  CliResult r = RunAgainst(daemon, {"swarm", "update", "--autolock=true"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("Swarm updated.\n") + kKeyBanner);
  auto reqs = daemon.requests();
  ASSERT_GE(reqs.size(), 2u);
  EXPECT_NE(reqs[1].target.find("version=7"), std::string::npos) << reqs[1].target;
  EXPECT_NE(reqs[1].target.find("rotateManagerUnlockKey=false"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(reqs[1].body)["EncryptionConfig"]["AutoLockManagers"], true);
}

TEST(SwarmUpdateTest, AutolockOffPrintsOnlyUpdated) {
  FakeDaemon daemon;
  daemon.On("GET", "/swarm", {200, kSwarmOn});
  daemon.On("POST", "/swarm/update", {200, ""});
  CliResult r = RunAgainst(daemon, {"swarm", "update", "--autolock=false"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Swarm updated.\n");
  EXPECT_EQ(
      nlohmann::json::parse(daemon.requests()[1].body)["EncryptionConfig"]["AutoLockManagers"],
      false);
}

TEST(SwarmUnlockKeyTest, QuietPrintsTheKeyAlone) {
  FakeDaemon daemon;
  daemon.On("GET", "/swarm/unlockkey", {200, R"({"UnlockKey":"SWMKEY-1-abc"})"});
  CliResult r = RunAgainst(daemon, {"swarm", "unlock-key", "-q"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "SWMKEY-1-abc\n");
  CliResult banner = RunAgainst(daemon, {"swarm", "unlock-key"});
  EXPECT_EQ(banner.out, kKeyBanner);
}

TEST(SwarmUnlockKeyTest, NoKeySetIsAnError) {
  FakeDaemon daemon;
  daemon.On("GET", "/swarm/unlockkey", {200, R"({"UnlockKey":""})"});
  CliResult r = RunAgainst(daemon, {"swarm", "unlock-key"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("no unlock key is set"), std::string::npos) << r.err;
}

TEST(SwarmUnlockKeyTest, RotateNeedsAutolockThenRotates) {
  FakeDaemon off;
  off.On("GET", "/swarm", {200, kSwarmOff});
  CliResult refused = RunAgainst(off, {"swarm", "unlock-key", "--rotate"});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("cannot rotate because autolock is not turned on"), std::string::npos)
      << refused.err;

  FakeDaemon on;
  on.On("GET", "/swarm", {200, kSwarmOn});
  on.On("POST", "/swarm/update", {200, ""});
  on.On("GET", "/swarm/unlockkey", {200, R"({"UnlockKey":"SWMKEY-1-abc"})"});
  CliResult r = RunAgainst(on, {"swarm", "unlock-key", "--rotate"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("Successfully rotated manager unlock key.\n\n") + kKeyBanner);
  EXPECT_NE(on.requests()[1].target.find("rotateManagerUnlockKey=true"), std::string::npos);
}

TEST(SwarmUnlockTest, ReadsTheKeyFromStdin) {
  FakeDaemon daemon;
  daemon.On("GET", "/info", {200, R"({"Swarm":{"LocalNodeState":"locked"}})"});
  daemon.On("POST", "/swarm/unlock", {200, ""});
  CliResult r = RunAgainst(daemon, {"swarm", "unlock"}, "  SWMKEY-1-abc \n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(nlohmann::json::parse(daemon.requests()[1].body)["UnlockKey"], "SWMKEY-1-abc");
}

TEST(SwarmUnlockTest, NotLockedIsRefusedLocally) {
  FakeDaemon daemon;
  daemon.On("GET", "/info", {200, R"({"Swarm":{"LocalNodeState":"active"}})"});
  CliResult r = RunAgainst(daemon, {"swarm", "unlock"}, "SWMKEY-1-abc\n");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("swarm is not locked"), std::string::npos) << r.err;
  EXPECT_EQ(daemon.requests().size(), 1u);
}

TEST(SwarmUnlockTest, WrongKeyShowsTheDaemonsMessage) {
  FakeDaemon daemon;
  daemon.On("GET", "/info", {200, R"({"Swarm":{"LocalNodeState":"locked"}})"});
  daemon.On("POST", "/swarm/unlock",
            {401, R"({"message":"swarm could not be unlocked: invalid key provided"})"});
  CliResult r = RunAgainst(daemon, {"swarm", "unlock"}, "SWMKEY-1-abc\n");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("Error response from daemon: swarm could not be unlocked: invalid key "
                       "provided"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace capsule::cli
