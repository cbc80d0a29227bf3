// `capsule version`, `capsule info`, and -H handling through the whole CLI.
#include <gtest/gtest.h>

#include <sstream>

#include "cli/app.h"
#include "cli/fake_daemon_test_util.h"

namespace capsule::cli {
namespace {

using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;

TEST(VersionTest, ClientAndServer) {
  FakeDaemon daemon;
  daemon.On(
      "GET", "/version",
      {200,
       R"({"Version":"0.1.0","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"})"});
  CliResult r = RunAgainst(daemon, {"version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Client:\n Version:           0.1.0\n API version:       1.41\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Server:\n Engine:\n  Version:          0.1.0\n"
                       "  API version:      1.41 (minimum version 1.12)\n"
                       "  OS/Arch:          linux/amd64\n"),
            std::string::npos)
      << r.out;
}

TEST(InfoTest, ActiveSwarmSummary) {
  FakeDaemon daemon;
  daemon.On(
      "GET", "/info",
      {200,
       R"({"ServerVersion":"0.1.0","Swarm":{"NodeID":"n1","NodeAddr":"127.0.0.1","LocalNodeState":"active","ControlAvailable":true,"Nodes":3,"Managers":1,"Cluster":{"ID":"c1"}}})"});
  CliResult r = RunAgainst(daemon, {"info"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Server:\n Server Version: 0.1.0\n Swarm: active\n  NodeID: n1\n  Is Manager: true\n"
            "  ClusterID: c1\n  Managers: 1\n  Nodes: 3\n  Node Address: 127.0.0.1\n");
}

TEST(InfoTest, InactiveSwarm) {
  FakeDaemon daemon;
  daemon.On(
      "GET", "/info",
      {200,
       R"({"Swarm":{"NodeID":"","NodeAddr":"","LocalNodeState":"inactive","ControlAvailable":false,"Error":"","RemoteManagers":null}})"});
  CliResult r = RunAgainst(daemon, {"info"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Server:\n Swarm: inactive\n");
}

// Runs the CLI with a fake environment (no -H).
CliResult RunWithEnv(std::vector<std::string> args, std::map<std::string, std::string> env) {
  std::ostringstream out, err;
  std::istringstream in;
  CliResult r;
  r.code = RunCli(args, CliIo{out, err, in}, RealClock(),
                  [env](const std::string& name) -> std::optional<std::string> {
                    auto it = env.find(name);
                    if (it == env.end()) return std::nullopt;
                    return it->second;
                  });
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(HostSelectionTest, EnvironmentOrderReachesTheRightDaemon) {
  FakeDaemon capsule_host, docker_host;
  capsule_host.On("POST", "/swarm/leave", {200, ""});
  docker_host.On("POST", "/swarm/leave", {200, ""});
  CliResult r = RunWithEnv({"swarm", "leave"}, {{"CAPSULE_HOST", capsule_host.url()},
                                                {"DOCKER_HOST", docker_host.url()}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(capsule_host.requests().size(), 1u);
  EXPECT_EQ(docker_host.requests().size(), 0u);
  r = RunWithEnv({"swarm", "leave"}, {{"DOCKER_HOST", docker_host.url()}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(docker_host.requests().size(), 1u);
  // -H beats both.
  r = RunWithEnv({"-H", docker_host.url(), "swarm", "leave"},
                 {{"CAPSULE_HOST", capsule_host.url()}});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(docker_host.requests().size(), 2u);
  EXPECT_EQ(capsule_host.requests().size(), 1u);
}

TEST(HostSelectionTest, TcpHostIsAClearError) {
  CliResult r = RunWithEnv({"-H", "tcp://127.0.0.1:2375", "secret", "ls"}, {});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("only unix:// hosts are supported"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace capsule::cli
