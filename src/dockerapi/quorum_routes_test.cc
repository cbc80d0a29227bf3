// Without quorum the backend's Manager() fails with Docker's "no leader" status (node/daemon.cc
// asks membership::QuorumWatch): every manager route, reads and writes alike, answers it as a
// 500 with the text unchanged, and /info keeps ControlAvailable with Swarm.Error set.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dockerapi/error_table.h"
#include "dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

using json = nlohmann::json;

constexpr char kNoLeader[] =
    "rpc error: code = Unknown desc = The swarm does not have a leader. It's possible that too "
    "few managers are online. Make sure more than half of the managers are online.";

class NoQuorumBackend : public Backend {
 public:
  LocalSwarmInfo SwarmInfo() const override {
    LocalSwarmInfo info;
    info.state = "active";
    info.control_available = true;
    info.node_id = "n1";
    info.error = kNoLeader;
    return info;
  }
  StatusOr<std::string> InitSwarm(const InitRequest&) override {
    return absl::UnimplementedError("");
  }
  Status LeaveSwarm(bool) override { return absl::UnimplementedError(""); }
  Status JoinSwarm(const JoinRequest&) override { return absl::UnimplementedError(""); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override {
    return absl::UnknownError(kNoLeader);
  }
  std::string Hostname() const override { return "test"; }
};

class QuorumRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterAllRoutes(router_, backend_); }
  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "") {
    http::Request r;
    r.method = method;
    r.path = path;
    r.body = body;
    return router_.Dispatch(r);
  }
  static std::string Message(const http::Response& r) {
    return json::parse(r.body).value("message", "");
  }

  NoQuorumBackend backend_;
  http::Router router_;
};

TEST_F(QuorumRoutesTest, TheNoLeaderStatusIsA500WithDockersText) {
  http::Response r = ErrorResponse(absl::UnknownError(kNoLeader));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(Message(r), kNoLeader);
}

TEST_F(QuorumRoutesTest, ReadsAndWritesFailAlikeWithoutQuorum) {
  for (const char* path : {"/v1.41/secrets", "/v1.41/nodes", "/v1.41/services", "/v1.41/configs",
                           "/v1.41/tasks", "/v1.41/swarm", "/v1.41/secrets/abc"}) {
    http::Response r = Call("GET", path);
    EXPECT_EQ(r.status, 500) << path;
    EXPECT_EQ(Message(r), kNoLeader) << path;
  }
  http::Response create = Call("POST", "/v1.41/secrets/create", R"({"Name":"a","Data":"eA=="})");
  EXPECT_EQ(create.status, 500);
  EXPECT_EQ(Message(create), kNoLeader);
  http::Response rm = Call("DELETE", "/v1.41/secrets/abc");
  EXPECT_EQ(rm.status, 500);
  EXPECT_EQ(Message(rm), kNoLeader);
}

TEST_F(QuorumRoutesTest, InfoKeepsControlAvailableAndReportsTheError) {
  http::Response info = Call("GET", "/v1.41/info");
  ASSERT_EQ(info.status, 200);
  json swarm = json::parse(info.body)["Swarm"];
  EXPECT_EQ(swarm["LocalNodeState"], "active");
  EXPECT_EQ(swarm["ControlAvailable"], true);
  EXPECT_EQ(swarm["Error"], kNoLeader);
}

}  // namespace
}  // namespace capsule::dockerapi
