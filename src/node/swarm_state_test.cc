#include "node/swarm_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace capsule::node {
namespace {

class SwarmStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-state-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    path_ = std::string(tmpl) + "/state.json";
  }
  void TearDown() override {
    std::filesystem::remove_all(std::filesystem::path(path_).parent_path());
  }
  std::string path_;
};

TEST_F(SwarmStateTest, AJoinedManagerIsRememberedAsRunningNoLeaderWork) {
  SwarmState s;
  s.node_id = "n2";
  s.cluster_id = "c";
  s.role = "manager";
  s.remote_manager = "127.0.0.1:2377";
  s.runs_leader_work = false;
  ASSERT_TRUE(SaveSwarmState(path_, s).ok());
  auto loaded = LoadSwarmState(path_);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_FALSE((*loaded)->runs_leader_work);
  EXPECT_EQ((*loaded)->remote_manager, "127.0.0.1:2377");
}

// A state file written before manager joins existed belongs to the manager that ran swarm init.
TEST_F(SwarmStateTest, AnOlderStateFileRunsLeaderWork) {
  std::ofstream(path_) << R"({"NodeID":"n1","ClusterID":"c","Role":"manager"})";
  auto loaded = LoadSwarmState(path_);
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  EXPECT_TRUE((*loaded)->runs_leader_work);
}

}  // namespace
}  // namespace capsule::node
