#include "node/force_new_cluster.h"

#include <gtest/gtest.h>

namespace capsule::node {
namespace {

SwarmState ManagerAt(const std::string& ip) {
  SwarmState s;
  s.node_id = "node1";
  s.cluster_id = "cluster1";
  s.role = "manager";
  s.advertise_addr = ip;
  s.listen_addr = "0.0.0.0:2377";
  return s;
}

dockerapi::InitRequest Force(const std::string& advertise) {
  dockerapi::InitRequest r;
  r.listen_addr = "0.0.0.0:2377";
  r.advertise_addr = advertise;
  r.force_new_cluster = true;
  return r;
}

TEST(CheckForceNewClusterTest, RunningManagerMayForce) {
  const SwarmState state = ManagerAt("127.0.62.1");
  EXPECT_TRUE(CheckForceNewCluster(Force(""), {state, false, true}).ok());
  EXPECT_TRUE(CheckForceNewCluster(Force("127.0.62.1"), {state, false, true}).ok());
  // Docker's CLI passes the port too; this node keeps its own.
  EXPECT_TRUE(CheckForceNewCluster(Force("127.0.62.1:4000"), {state, false, true}).ok());
}

TEST(CheckForceNewClusterTest, WorkerGetsDockersNotAManagerText) {
  SwarmState state = ManagerAt("127.0.62.1");
  state.role = "worker";
  Status s = CheckForceNewCluster(Force(""), {state, false, false});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(),
            "This node is not a swarm manager. Worker nodes can't be used to view or modify "
            "cluster state. Please run this command on a manager node or promote the current "
            "node to a manager.");
}

// Docker has no swarm node while locked: the same text (COMPAT-HA-AUTOLOCK-CONFIGS.md §1.4).
TEST(CheckForceNewClusterTest, LockedManagerGetsDockersNotAManagerText) {
  const SwarmState state = ManagerAt("127.0.62.1");
  Status s = CheckForceNewCluster(Force(""), {state, true, false});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), dockerapi::kWorkerNotManagerMessage);
}

TEST(CheckForceNewClusterTest, ManagerThatDidNotStartIsRefused) {
  const SwarmState state = ManagerAt("127.0.62.1");
  EXPECT_EQ(CheckForceNewCluster(Force(""), {state, false, false}).code(),
            StatusCode::kUnavailable);
}

TEST(CheckForceNewClusterTest, AnotherAdvertiseAddressIsRefused) {
  const SwarmState state = ManagerAt("127.0.62.1");
  Status s = CheckForceNewCluster(Force("127.0.62.9"), {state, false, true});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "--force-new-cluster keeps this manager's address 127.0.62.1 (the store's other "
            "members knew it by that address); it cannot advertise 127.0.62.9 instead");
}

TEST(CheckForceNewClusterTest, MalformedAdvertiseAddressIsInvalid) {
  const SwarmState state = ManagerAt("127.0.62.1");
  EXPECT_EQ(CheckForceNewCluster(Force("127.0.62.1:notaport"), {state, false, true}).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace capsule::node
