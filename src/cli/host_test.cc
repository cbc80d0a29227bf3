// Host resolution order: -H, $CAPSULE_HOST, $DOCKER_HOST, default; unix:// only.
#include "cli/host.h"

#include <gtest/gtest.h>

#include <map>

namespace capsule::cli {
namespace {

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(HostTest, FlagWinsOverEnvironment) {
  auto host = ResolveHost("unix:///tmp/flag.sock", Env({{"CAPSULE_HOST", "unix:///tmp/c.sock"},
                                                        {"DOCKER_HOST", "unix:///tmp/d.sock"}}));
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->url, "unix:///tmp/flag.sock");
  EXPECT_EQ(host->socket_path, "/tmp/flag.sock");
}

TEST(HostTest, CapsuleHostBeforeDockerHost) {
  auto host = ResolveHost(
      "", Env({{"CAPSULE_HOST", "unix:///tmp/c.sock"}, {"DOCKER_HOST", "unix:///tmp/d.sock"}}));
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->socket_path, "/tmp/c.sock");
}

TEST(HostTest, DockerHostWhenCapsuleHostUnsetOrEmpty) {
  auto host = ResolveHost("", Env({{"DOCKER_HOST", "unix:///tmp/d.sock"}}));
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->socket_path, "/tmp/d.sock");
  host = ResolveHost("", Env({{"CAPSULE_HOST", ""}, {"DOCKER_HOST", "unix:///tmp/d.sock"}}));
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->socket_path, "/tmp/d.sock");
}

TEST(HostTest, DefaultSocket) {
  auto host = ResolveHost("", Env({}));
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->url, "unix:///run/capsule/capsule.sock");
  EXPECT_EQ(host->socket_path, "/run/capsule/capsule.sock");
}

TEST(HostTest, TcpIsRejectedClearly) {
  auto host = ResolveHost("tcp://127.0.0.1:2375", Env({}));
  ASSERT_FALSE(host.ok());
  EXPECT_EQ(host.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(host.status().message()).find("only unix:// hosts are supported"),
            std::string::npos);
  host = ResolveHost("", Env({{"DOCKER_HOST", "tcp://127.0.0.1:2375"}}));
  EXPECT_FALSE(host.ok());
  EXPECT_FALSE(ResolveHost("/tmp/x.sock", Env({})).ok());
  EXPECT_FALSE(ResolveHost("unix://", Env({})).ok());
}

}  // namespace
}  // namespace capsule::cli
