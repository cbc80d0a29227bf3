// The /configs routes through the router, with the control API over a MemoryStore behind a
// fake backend: status codes, Docker's messages and the JSON shapes (Data shown, unlike a
// secret's).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dockerapi/routes.h"
#include "manager/controlapi/api_test_env.h"

namespace capsule::dockerapi {
namespace {

using nlohmann::json;

class ManagerBackend : public Backend {
 public:
  explicit ManagerBackend(controlapi::testing::ApiTestEnv& env) {
    services_->node_id = "node1";
    services_->secrets = &env.secrets;
    services_->configs = &env.configs;
    services_->services = &env.services;
  }
  LocalSwarmInfo SwarmInfo() const override { return {}; }
  StatusOr<std::string> InitSwarm(const InitRequest&) override {
    return absl::UnimplementedError("");
  }
  Status LeaveSwarm(bool) override { return absl::UnimplementedError(""); }
  Status JoinSwarm(const JoinRequest&) override { return absl::UnimplementedError(""); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override { return services_; }
  std::string Hostname() const override { return "test"; }

 private:
  std::shared_ptr<ManagerServices> services_ = std::make_shared<ManagerServices>();
};

class ConfigRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override { RegisterConfigRoutes(router_, backend_); }

  http::Response Call(const std::string& method, const std::string& path, std::string body = "",
                      std::map<std::string, std::string> query = {}) {
    http::Request r;
    r.method = method;
    r.path = path;
    for (auto& [k, v] : query) {
      r.query[k] = v;
      r.query_all[k] = {v};
    }
    r.body = std::move(body);
    return router_.Dispatch(r);
  }
  std::string Message(const http::Response& r) { return json::parse(r.body)["message"]; }
  // → the new config's ID.
  std::string Create(const std::string& name, const std::string& data_base64) {
    auto r = Call("POST", "/configs/create",
                  json{{"Name", name}, {"Data", data_base64}, {"Labels", {{"a", "1"}}}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["ID"];
  }

  controlapi::testing::ApiTestEnv env_;
  ManagerBackend backend_{env_};
  http::Router router_;
};

TEST_F(ConfigRoutesTest, InspectShowsTheDataLikeDocker) {
  const std::string id = Create("app.conf", "cG9ydD04MAo=");  // "port=80\n"
  auto r = Call("GET", "/v1.41/configs/app.conf");
  ASSERT_EQ(r.status, 200) << r.body;
  const json c = json::parse(r.body);
  EXPECT_EQ(c["ID"], id);
  EXPECT_TRUE(c["Version"]["Index"].is_number_integer());
  EXPECT_EQ(c["Spec"]["Name"], "app.conf");
  EXPECT_EQ(c["Spec"]["Labels"], json({{"a", "1"}}));
  EXPECT_EQ(c["Spec"]["Data"], "cG9ydD04MAo=");
  EXPECT_FALSE(c["Spec"].contains("Driver"));
  std::vector<std::string> keys;
  for (auto it = c["Spec"].begin(); it != c["Spec"].end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"Data", "Labels", "Name"}));  // json sorts keys
  EXPECT_NE(r.body.find(R"("Spec":{"Name":"app.conf","Labels":{"a":"1"},"Data":)"),
            std::string::npos)
      << r.body;  // Docker's field order
}

TEST_F(ConfigRoutesTest, ListFiltersAndRefusesNames) {
  Create("app.conf", "YQ==");
  Create("db.conf", "Yg==");
  auto all = Call("GET", "/configs");
  ASSERT_EQ(all.status, 200);
  ASSERT_EQ(json::parse(all.body).size(), 2u);
  EXPECT_EQ(json::parse(all.body)[0]["Spec"]["Data"].is_string(), true);
  auto by_name = Call("GET", "/configs", "", {{"filters", R"({"name":{"db":true}})"}});
  ASSERT_EQ(by_name.status, 200);
  ASSERT_EQ(json::parse(by_name.body).size(), 1u);
  EXPECT_EQ(json::parse(by_name.body)[0]["Spec"]["Name"], "db.conf");
  auto by_label = Call("GET", "/configs", "", {{"filters", R"({"label":["a=2"]})"}});
  EXPECT_EQ(json::parse(by_label.body), json::array());
  auto names = Call("GET", "/configs", "", {{"filters", R"({"names":["db.conf"]})"}});
  EXPECT_EQ(names.status, 400);
  EXPECT_EQ(Message(names), "Invalid filter 'names'");
}

TEST_F(ConfigRoutesTest, CreateErrors) {
  auto big = Call("POST", "/configs/create",
                  json{{"Name", "big"}, {"Data", std::string(1366668, 'A')}}.dump());
  EXPECT_EQ(big.status, 400);
  EXPECT_EQ(Message(big),
            "rpc error: code = InvalidArgument desc = config data must be larger than 0 and less "
            "than 1024000 bytes");
  auto bad_name = Call("POST", "/configs/create", json{{"Name", "-x"}, {"Data", "YQ=="}}.dump());
  EXPECT_EQ(bad_name.status, 400);
  Create("app.conf", "YQ==");
  auto dup = Call("POST", "/configs/create", json{{"Name", "app.conf"}, {"Data", "YQ=="}}.dump());
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(Message(dup), "rpc error: code = AlreadyExists desc = config app.conf already exists");
  auto type = Call("POST", "/configs/create", R"({"Name":1})");
  EXPECT_EQ(type.status, 400);
  EXPECT_EQ(Message(type),
            "json: cannot unmarshal number into Go struct field ConfigSpec.Name of type string");
}

TEST_F(ConfigRoutesTest, TemplatingNeedsApi137) {
  const std::string body =
      json{{"Name", "t"}, {"Data", "YQ=="}, {"Templating", {{"Name", "golang"}}}}.dump();
  auto old = Call("POST", "/v1.36/configs/create", body);
  EXPECT_EQ(old.status, 400);
  EXPECT_EQ(Message(old), "config templating is not supported on the specified API version: 1.36");
  auto ok = Call("POST", "/v1.37/configs/create", body);
  ASSERT_EQ(ok.status, 201) << ok.body;
  auto inspect = Call("GET", "/configs/t");
  EXPECT_EQ(json::parse(inspect.body)["Spec"]["Templating"], json({{"Name", "golang"}}));
}

TEST_F(ConfigRoutesTest, UpdateLabelsOnly) {
  const std::string id = Create("app.conf", "YQ==");
  const int64_t v = json::parse(Call("GET", "/configs/" + id).body)["Version"]["Index"];
  auto same = Call("POST", "/configs/" + id + "/update",
                   json{{"Name", "app.conf"}, {"Data", "YQ=="}, {"Labels", {{"b", "2"}}}}.dump(),
                   {{"version", std::to_string(v)}});
  ASSERT_EQ(same.status, 200) << same.body;
  const json after = json::parse(Call("GET", "/configs/" + id).body);
  EXPECT_EQ(after["Spec"]["Labels"], json({{"b", "2"}}));
  EXPECT_EQ(after["Spec"]["Data"], "YQ==");
  const int64_t v2 = after["Version"]["Index"];
  auto changed =
      Call("POST", "/configs/" + id + "/update",
           json{{"Name", "app.conf"}, {"Data", "Yg=="}}.dump(), {{"version", std::to_string(v2)}});
  EXPECT_EQ(changed.status, 400);
  EXPECT_EQ(Message(changed),
            "rpc error: code = InvalidArgument desc = only updates to Labels are allowed");
  auto no_version = Call("POST", "/configs/" + id + "/update", json{{"Name", "app.conf"}}.dump());
  EXPECT_EQ(no_version.status, 400);
  EXPECT_EQ(Message(no_version), "invalid config version");
}

TEST_F(ConfigRoutesTest, DeleteNotFoundAndInUse) {
  auto missing = Call("DELETE", "/configs/nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Message(missing), "config nope not found");
  const std::string id = Create("app.conf", "YQ==");
  env_.PutService(controlapi::testing::ServiceUsingConfig("svc1", "web", id));
  auto in_use = Call("DELETE", "/configs/app.conf");
  EXPECT_EQ(in_use.status, 400);
  EXPECT_EQ(Message(in_use),
            "rpc error: code = InvalidArgument desc = config 'app.conf' is in use by the "
            "following service: web");
  ASSERT_TRUE(env_.store.Delete({kServicesKind, "svc1", "web"}, 0).ok());
  EXPECT_EQ(Call("DELETE", "/configs/" + id).status, 204);
  EXPECT_EQ(Call("GET", "/configs/" + id).status, 404);
}

}  // namespace
}  // namespace capsule::dockerapi
