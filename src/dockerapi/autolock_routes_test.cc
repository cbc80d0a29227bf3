// Autolock through the router: a locked node's answers (503 on every manager endpoint, the
// `Swarm: locked` ping header, /info), /swarm/unlock's codes, /swarm/unlockkey and
// rotateManagerUnlockKey on /swarm/update. A fake Backend; the control API over a MemoryStore.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dockerapi/routes.h"
#include "manager/controlapi/api_test_env.h"

namespace capsule::dockerapi {
namespace {

using json = nlohmann::json;

constexpr char kLocked[] =
    "Swarm is encrypted and needs to be unlocked before it can be used. Please use \"docker "
    "swarm unlock\" to unlock it.";

class FakeAutolock : public AutolockControl {
 public:
  StatusOr<SecretBytes> UnlockKey() const override {
    return SecretBytes::CopyFrom(std::string_view(key));
  }
  Status ApplyAutolock(bool autolock, bool rotate) override {
    calls.push_back({autolock, rotate});
    return absl::OkStatus();
  }
  std::string key;
  std::vector<std::pair<bool, bool>> calls;
};

class FakeBackend : public Backend {
 public:
  LocalSwarmInfo SwarmInfo() const override {
    LocalSwarmInfo info;
    if (locked) {
      info.state = "locked";
      info.error = kSwarmLockedMessage;
    } else {
      info.state = "active";
      info.control_available = true;
    }
    return info;
  }
  StatusOr<std::string> InitSwarm(const InitRequest&) override {
    return absl::UnimplementedError("");
  }
  Status LeaveSwarm(bool) override { return absl::UnimplementedError(""); }
  Status JoinSwarm(const JoinRequest&) override { return absl::UnimplementedError(""); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override {
    if (locked) return absl::UnavailableError(kSwarmLockedMessage);
    return services;
  }
  Status UnlockSwarm(const SecretBytes& key) override {
    unlocked_with = std::string(key.view());
    return unlock_result;
  }
  std::string Hostname() const override { return "test"; }

  bool locked = true;
  std::shared_ptr<ManagerServices> services = std::make_shared<ManagerServices>();
  Status unlock_result = absl::OkStatus();
  std::string unlocked_with;
};

class AutolockRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.services->cluster = &env_.cluster;
    backend_.services->autolock = &autolock_;
    RegisterAllRoutes(router_, backend_);
  }
  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "",
                      const std::map<std::string, std::string>& query = {}) {
    http::Request r;
    r.method = method;
    r.path = path;
    for (const auto& [k, v] : query) {
      r.query[k] = v;
      r.query_all[k] = {v};
    }
    r.body = body;
    return router_.Dispatch(r);
  }
  static std::string Message(const http::Response& r) {
    return json::parse(r.body).value("message", "");
  }
  int64_t PutCluster() {
    Cluster c;
    c.id = "c1";
    return env_.PutCluster(c);
  }

  controlapi::testing::ApiTestEnv env_;
  FakeAutolock autolock_;
  FakeBackend backend_;
  http::Router router_;
};

TEST_F(AutolockRoutesTest, EveryManagerEndpointAnswers503WhileLocked) {
  for (const char* path : {"/v1.41/swarm", "/v1.41/nodes", "/v1.41/services", "/v1.41/secrets",
                           "/v1.41/configs", "/v1.41/tasks", "/v1.41/swarm/unlockkey"}) {
    http::Response r = Call("GET", path);
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_EQ(Message(r), kLocked) << path;
  }
  http::Response create = Call("POST", "/v1.41/secrets/create", R"({"Name":"a","Data":"eA=="})");
  EXPECT_EQ(create.status, 503);
  EXPECT_EQ(Message(create), kLocked);
  http::Response update = Call("POST", "/v1.41/swarm/update", "{}", {{"version", "1"}});
  EXPECT_EQ(update.status, 503);
}

TEST_F(AutolockRoutesTest, PingAndInfoShowTheLockedState) {
  http::Response ping = Call("GET", "/_ping");
  EXPECT_EQ(ping.status, 200);
  bool found = false;
  for (const auto& [k, v] : ping.headers) {
    if (k == "Swarm") {
      EXPECT_EQ(v, "locked");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  http::Response info = Call("GET", "/v1.41/info");
  ASSERT_EQ(info.status, 200);
  json swarm = json::parse(info.body)["Swarm"];
  EXPECT_EQ(swarm["LocalNodeState"], "locked");
  EXPECT_EQ(swarm["ControlAvailable"], false);
  EXPECT_EQ(swarm["Error"], kLocked);
}

TEST_F(AutolockRoutesTest, UnlockPassesTheKeyAndMapsCodes) {
  http::Response ok = Call("POST", "/v1.41/swarm/unlock", R"({"UnlockKey":"SWMKEY-1-abc"})");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "");
  EXPECT_EQ(backend_.unlocked_with, "SWMKEY-1-abc");
  const struct {
    Status status;
    int http;
  } cases[] = {
      {absl::InvalidArgumentError("invalid key string"), 400},
      {absl::UnauthenticatedError("swarm could not be unlocked: invalid key provided"), 401},
      {absl::AlreadyExistsError("swarm is not locked"), 409},
      {absl::UnavailableError("This node is not part of a swarm"), 503},
  };
  for (const auto& c : cases) {
    backend_.unlock_result = c.status;
    http::Response r = Call("POST", "/v1.41/swarm/unlock", R"({"UnlockKey":"x"})");
    EXPECT_EQ(r.status, c.http) << c.status;
    EXPECT_EQ(Message(r), c.status.message());
  }
}

TEST_F(AutolockRoutesTest, UnlockKeyIsEmptyWhenAutolockIsOff) {
  backend_.locked = false;
  http::Response off = Call("GET", "/v1.41/swarm/unlockkey");
  ASSERT_EQ(off.status, 200);
  EXPECT_EQ(off.body, "{\"UnlockKey\":\"\"}\n");
  autolock_.key = "SWMKEY-1-WuYH/IX284+lRcXuoVf38viIDK3HJEKY13MIHX+tTt8";
  http::Response on = Call("GET", "/v1.41/swarm/unlockkey");
  EXPECT_EQ(json::parse(on.body)["UnlockKey"], autolock_.key);
}

TEST_F(AutolockRoutesTest, UpdateAppliesAutolockAndRotation) {
  backend_.locked = false;
  int64_t v = PutCluster();
  http::Response r =
      Call("POST", "/v1.41/swarm/update", R"({"EncryptionConfig":{"AutoLockManagers":true}})",
           {{"version", std::to_string(v)}, {"rotateManagerUnlockKey", "true"}});
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(autolock_.calls.size(), 1u);
  EXPECT_EQ(autolock_.calls[0], std::make_pair(true, true));
  StatusOr<store::ClusterEntry> c = env_.cluster.Get();
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->object.spec.autolock_managers);
}

TEST_F(AutolockRoutesTest, BadRotateValueIs400EvenWhileLocked) {
  http::Response r = Call("POST", "/v1.41/swarm/update", "{}",
                          {{"version", "1"}, {"rotateManagerUnlockKey", "maybe"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Message(r), "invalid value for rotateManagerUnlockKey: maybe");
}

TEST_F(AutolockRoutesTest, BadRotateValueIs400BeforeAnyChange) {
  backend_.locked = false;
  int64_t v = PutCluster();
  http::Response r = Call("POST", "/v1.41/swarm/update", "{}",
                          {{"version", std::to_string(v)}, {"rotateManagerUnlockKey", "maybe"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Message(r), "invalid value for rotateManagerUnlockKey: maybe");
  EXPECT_TRUE(autolock_.calls.empty());
}

}  // namespace
}  // namespace capsule::dockerapi
