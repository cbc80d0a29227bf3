// The audit side of the Docker API through the router: secret create/remove record who did
// it (the request's peer credentials), never the data; GET /capsule/audit lists and filters;
// a worker answers Docker's manager-only error.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "audit/log_recorder.h"
#include "audit/memory_log.h"
#include "dockerapi/routes.h"
#include "manager/controlapi/api_test_env.h"
#include "testing/eventually.h"
#include "testing/fake_clock.h"

namespace capsule::dockerapi {
namespace {

using nlohmann::json;

class AuditBackend : public Backend {
 public:
  AuditBackend(controlapi::testing::ApiTestEnv& env, audit::Recorder& rec, audit::Log& log) {
    services_->node_id = "node1";
    services_->secrets = &env.secrets;
    services_->configs = &env.configs;
    services_->services = &env.services;
    services_->audit = &rec;
    services_->audit_log = &log;
  }
  LocalSwarmInfo SwarmInfo() const override { return {}; }
  StatusOr<std::string> InitSwarm(const InitRequest&) override {
    return absl::UnimplementedError("");
  }
  Status LeaveSwarm(bool) override { return absl::UnimplementedError(""); }
  Status JoinSwarm(const JoinRequest&) override { return absl::UnimplementedError(""); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override {
    if (worker) return absl::UnavailableError(kWorkerNotManagerMessage);
    return services_;
  }
  std::string Hostname() const override { return "test"; }
  bool worker = false;

 private:
  std::shared_ptr<ManagerServices> services_ = std::make_shared<ManagerServices>();
};

class AuditRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterSecretRoutes(router_, backend_);
    RegisterConfigRoutes(router_, backend_);
    RegisterAuditRoutes(router_, backend_);
    recorder_.Start();
  }

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
    r.peer = http::PeerCredentials{1234, 99, 5678};
    return router_.Dispatch(r);
  }
  json Audit(std::map<std::string, std::string> query = {}) {
    auto r = Call("GET", "/capsule/audit", "", std::move(query));
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }
  void WaitWritten(size_t n) {
    ASSERT_TRUE(capsule::testing::Eventually([&] { return log_.size() == n; }));
  }

  controlapi::testing::ApiTestEnv env_;
  audit::MemoryLog log_;
  capsule::testing::FakeClock clock_;
  audit::LogRecorder recorder_{log_, clock_, {.writer = "node1"}};
  AuditBackend backend_{env_, recorder_, log_};
  http::Router router_;
};

TEST_F(AuditRoutesTest, CreateAndRemoveAreRecordedWithTheCallerAndNeverTheData) {
  auto c = Call("POST", "/v1.41/secrets/create", json{{"Name", "pw"}, {"Data", "Y2FuYXJ5"}}.dump());
  ASSERT_EQ(c.status, 201) << c.body;
  const std::string id = json::parse(c.body)["ID"];
  ASSERT_EQ(Call("DELETE", "/secrets/pw").status, 204);
  WaitWritten(2);
  json events = Audit();
  ASSERT_EQ(events.size(), 2u) << events.dump();
  EXPECT_EQ(events[0]["Action"], "create");
  EXPECT_EQ(events[1]["Action"], "remove");
  for (const json& e : events) {
    EXPECT_EQ(e["SecretID"], id);
    EXPECT_EQ(e["SecretName"], "pw");
    EXPECT_EQ(e["Version"], 1);
    EXPECT_EQ(e["Caller"]["UID"], 1234);
    EXPECT_EQ(e["Caller"]["PID"], 5678);
    EXPECT_EQ(e["RecordedBy"], "node1");
    EXPECT_EQ(e["Time"], FormatRfc3339Nano(clock_.Now()));
  }
  const std::string text = events.dump();
  EXPECT_EQ(text.find("Y2FuYXJ5"), std::string::npos);
  EXPECT_EQ(text.find("canary"), std::string::npos);
}

TEST_F(AuditRoutesTest, RefusedCallsAndConfigsAreNotRecorded) {
  ASSERT_EQ(Call("POST", "/secrets/create", json{{"Name", "pw"}, {"Data", "YQ=="}}.dump()).status,
            201);
  EXPECT_EQ(Call("POST", "/secrets/create", json{{"Name", "pw"}, {"Data", "YQ=="}}.dump()).status,
            409);
  EXPECT_EQ(Call("DELETE", "/secrets/nope").status, 404);
  EXPECT_EQ(Call("POST", "/configs/create", json{{"Name", "c"}, {"Data", "YQ=="}}.dump()).status,
            201);
  WaitWritten(1);
  recorder_.Stop();  // nothing else is queued
  EXPECT_EQ(log_.size(), 1u);
}

TEST_F(AuditRoutesTest, SecretAndSinceFilter) {
  for (const char* name : {"pw", "db"}) {
    ASSERT_EQ(Call("POST", "/secrets/create", json{{"Name", name}, {"Data", "YQ=="}}.dump()).status,
              201);
    clock_.Advance(std::chrono::hours(2));
  }
  WaitWritten(2);
  json pw = Audit({{"secret", "pw"}});
  ASSERT_EQ(pw.size(), 1u);
  EXPECT_EQ(pw[0]["SecretName"], "pw");
  json by_id = Audit({{"secret", pw[0]["SecretID"].get<std::string>().substr(0, 5)}});
  ASSERT_GE(by_id.size(), 1u);
  EXPECT_EQ(by_id[0]["SecretName"], "pw");
  json since = Audit({{"since", FormatRfc3339Nano(clock_.Now() - std::chrono::hours(3))}});
  ASSERT_EQ(since.size(), 1u);
  EXPECT_EQ(since[0]["SecretName"], "db");
  EXPECT_EQ(Audit({{"secret", "nope"}}).size(), 0u);
}

TEST_F(AuditRoutesTest, BadSinceIs400) {
  auto r = Call("GET", "/capsule/audit", "", {{"since", "yesterday"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("failed to parse value as time or duration"), std::string::npos);
}

TEST_F(AuditRoutesTest, AWorkerAnswersDockersManagerOnlyError) {
  backend_.worker = true;
  auto r = Call("GET", "/capsule/audit");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["message"], kWorkerNotManagerMessage);
}

}  // namespace
}  // namespace capsule::dockerapi
