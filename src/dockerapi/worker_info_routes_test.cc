// GET /info on a worker: Swarm.RemoteManagers lists every manager the worker knows (its
// managers.json list, the current one first) as Docker's {NodeID, Addr}; a node that knows only
// the manager it dials lists that one. A fake Backend (no manager services: a worker).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

using json = nlohmann::json;

class WorkerBackend : public Backend {
 public:
  LocalSwarmInfo SwarmInfo() const override { return info; }
  StatusOr<std::string> InitSwarm(const InitRequest&) override {
    return absl::UnimplementedError("");
  }
  Status LeaveSwarm(bool) override { return absl::UnimplementedError(""); }
  Status JoinSwarm(const JoinRequest&) override { return absl::UnimplementedError(""); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override {
    return absl::FailedPreconditionError("This node is not a swarm manager.");
  }
  std::string Hostname() const override { return "w1"; }

  LocalSwarmInfo info;
};

class WorkerInfoRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.info.state = "active";
    backend_.info.node_id = "w1id";
    backend_.info.node_addr = "127.0.0.9";
    backend_.info.manager_node_id = "m2";
    backend_.info.manager_addr = "127.0.0.2:2377";
    RegisterAllRoutes(router_, backend_);
  }
  json RemoteManagers() {
    http::Request r;
    r.method = "GET";
    r.path = "/v1.41/info";
    http::Response resp = router_.Dispatch(r);
    EXPECT_EQ(resp.status, 200) << resp.body;
    return json::parse(resp.body)["Swarm"]["RemoteManagers"];
  }

  WorkerBackend backend_;
  http::Router router_;
};

TEST_F(WorkerInfoRoutesTest, RemoteManagersListsEveryManagerTheWorkerKnows) {
  backend_.info.remote_managers = {
      {"m2", "127.0.0.2:2377"}, {"m1", "127.0.0.1:2377"}, {"m3", "127.0.0.3:2377"}};
  EXPECT_EQ(RemoteManagers(), json::parse(R"([
      {"NodeID": "m2", "Addr": "127.0.0.2:2377"},
      {"NodeID": "m1", "Addr": "127.0.0.1:2377"},
      {"NodeID": "m3", "Addr": "127.0.0.3:2377"}])"));
}

TEST_F(WorkerInfoRoutesTest, WithoutAListOnlyTheManagerItDialsIsListed) {
  EXPECT_EQ(RemoteManagers(), json::parse(R"([{"NodeID": "m2", "Addr": "127.0.0.2:2377"}])"));
}

TEST_F(WorkerInfoRoutesTest, AnInactiveNodeListsNone) {
  backend_.info = {};
  EXPECT_TRUE(RemoteManagers().is_null());
}

}  // namespace
}  // namespace capsule::dockerapi
