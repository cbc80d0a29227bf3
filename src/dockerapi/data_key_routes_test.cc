// POST /capsule/swarm/rotate-data-key and GET /capsule/swarm/data-key through the router, with
// the real DataKeyRotation on a real etcd member: codes, bodies, the 409 of a second rotation,
// a worker's and a fake manager's answers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dockerapi/routes.h"
#include "manager/datakeys/datakeys_test_env.h"

namespace capsule::dockerapi {
namespace {

using nlohmann::json;

class DataKeyBackend : public Backend {
 public:
  LocalSwarmInfo SwarmInfo() const override { return {}; }
  StatusOr<std::string> InitSwarm(const InitRequest&) override {
    return absl::UnimplementedError("");
  }
  Status LeaveSwarm(bool) override { return absl::UnimplementedError(""); }
  Status JoinSwarm(const JoinRequest&) override { return absl::UnimplementedError(""); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override {
    if (worker) return absl::UnavailableError(kWorkerNotManagerMessage);
    return services;
  }
  std::string Hostname() const override { return "test"; }
  bool worker = false;
  std::shared_ptr<ManagerServices> services = std::make_shared<ManagerServices>();
};

class DataKeyRoutesTest : public datakeys::testing::DataKeysTest {
 protected:
  void SetUp() override {
    DataKeysTest::SetUp();
    rotation_ = std::make_unique<datakeys::DataKeyRotation>(*client_, kek_, *m1_->sync);
    backend_.services->data_keys = rotation_.get();
    RegisterDataKeyRoutes(router_, backend_);
  }
  http::Response Call(const std::string& method, const std::string& path) {
    http::Request r;
    r.method = method;
    r.path = path;
    return router_.Dispatch(r);
  }

  std::unique_ptr<datakeys::DataKeyRotation> rotation_;
  DataKeyBackend backend_;
  http::Router router_;
};

TEST_F(DataKeyRoutesTest, GetShowsTheCurrentKeyAndNoRotation) {
  http::Response r = Call("GET", "/capsule/swarm/data-key");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["CurrentKeyID"], 1);
  EXPECT_EQ(j["KeyIDs"], json::array({1}));
  EXPECT_TRUE(j["Rotation"].is_null());
  EXPECT_TRUE(j["LastRotation"].is_null());
}

TEST_F(DataKeyRoutesTest, PostBeginsARotationAndASecondOneIs409) {
  http::Response r = Call("POST", "/capsule/swarm/rotate-data-key");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["CurrentKeyID"], 2);
  EXPECT_EQ(j["Rotation"]["Target"], 2);
  EXPECT_EQ(j["Rotation"]["Retiring"], json::array({1}));
  http::Response again = Call("POST", "/capsule/swarm/rotate-data-key");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(json::parse(again.body)["message"].get<std::string>().find(
                "a data key rotation is already in progress"),
            std::string::npos)
      << again.body;
}

TEST_F(DataKeyRoutesTest, AWorkerAnswersDockersManagerOnlyError) {
  backend_.worker = true;
  http::Response r = Call("POST", "/capsule/swarm/rotate-data-key");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(json::parse(r.body)["message"], kWorkerNotManagerMessage);
  EXPECT_EQ(StoredKeyIds(), std::vector<uint32_t>{1});
}

TEST_F(DataKeyRoutesTest, WithoutDataKeyControlTheRoutesAre501) {
  backend_.services->data_keys = nullptr;
  EXPECT_EQ(Call("GET", "/capsule/swarm/data-key").status, 501);
  EXPECT_EQ(Call("POST", "/capsule/swarm/rotate-data-key").status, 501);
}

}  // namespace
}  // namespace capsule::dockerapi
