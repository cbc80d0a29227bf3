// The /networks routes and the network side of /services/create through the router, with the
// control API over a MemoryStore behind a fake Backend (no etcd, no daemon).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dockerapi/routes.h"
#include "manager/controlapi/network.h"
#include "manager/controlapi/service.h"
#include "store/memory_store.h"
#include "store/read_model.h"
#include "testing/fake_clock.h"

namespace capsule::dockerapi {
namespace {

using json = nlohmann::ordered_json;

class ManagerBackend : public Backend {
 public:
  explicit ManagerBackend(std::shared_ptr<const ManagerServices> services)
      : services_(std::move(services)) {}
  LocalSwarmInfo SwarmInfo() const override { return {}; }
  StatusOr<std::string> InitSwarm(const InitRequest&) override {
    return absl::UnimplementedError("");
  }
  Status LeaveSwarm(bool) override { return absl::UnimplementedError(""); }
  Status JoinSwarm(const JoinRequest&) override { return absl::UnimplementedError(""); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override { return services_; }
  std::string Hostname() const override { return "test"; }

 private:
  std::shared_ptr<const ManagerServices> services_;
};

class NetworkRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(reads_.Start().ok());
    ASSERT_TRUE(controlapi::CreateIngressNetwork(store_, ClusterSpec{}, clock_.Now()).ok());
    auto services = std::make_shared<ManagerServices>();
    services->node_id = "node1";
    services->services = &service_api_;
    services->networks = &network_api_;
    backend_ = std::make_unique<ManagerBackend>(services);
    RegisterNetworkRoutes(router_, *backend_);
    RegisterServiceRoutes(router_, *backend_);
  }
  void TearDown() override { reads_.Stop(); }

  http::Response Call(const std::string& method, const std::string& path,
                      const std::string& body = "", const std::string& filters = "") {
    http::Request r;
    r.method = method;
    r.path = path;
    if (!filters.empty()) {
      r.query["filters"] = filters;
      r.query_all["filters"] = {filters};
    }
    r.body = body;
    return router_.Dispatch(r);
  }
  std::string Message(const http::Response& r) { return json::parse(r.body).value("message", ""); }
  std::string Create(const std::string& body) {
    http::Response r = Call("POST", "/v1.41/networks/create", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body).value("Id", "");
  }
  std::vector<std::string> Names(const std::string& filters) {
    http::Response r = Call("GET", "/v1.41/networks", "", filters);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    for (const json& n : json::parse(r.body)) out.push_back(n["Name"]);
    return out;
  }
  std::string ServiceBody(const std::string& name, const std::string& networks) {
    return R"({"Name":")" + name +
           R"(","TaskTemplate":{"ContainerSpec":{"Image":"busybox"},"Networks":)" + networks + "}}";
  }

  store::MemoryStore store_;
  store::ReadModel reads_{store_};
  testing::FakeClock clock_{FromUnixNanos(1'700'000'000'000'000'000)};
  controlapi::NetworkApi network_api_{store_, reads_, clock_, "node1"};
  controlapi::ServiceApi service_api_{store_, reads_, clock_};
  std::unique_ptr<ManagerBackend> backend_;
  http::Router router_;
};

TEST_F(NetworkRoutesTest, CreateAnswers201WithIdAndAnEmptyWarning) {
  http::Response r = Call(
      "POST", "/v1.41/networks/create",
      R"({"Name":"st_default","Driver":"overlay","Labels":{"com.docker.stack.namespace":"st"},"CheckDuplicate":true,"Attachable":false,"Internal":false,"Ingress":false,"ConfigOnly":false,"ConfigFrom":null,"IPAM":null,"Options":null,"Scope":""})");
  ASSERT_EQ(r.status, 201) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["Id"].get<std::string>().size(), 25u);
  EXPECT_EQ(j["Warning"], "");
}

TEST_F(NetworkRoutesTest, InspectShowsDockersNetworkResource) {
  Create(R"({"Name":"pn1","Driver":"overlay","Labels":{"a":"b"}})");
  http::Response r = Call("GET", "/v1.41/networks/pn1");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["Scope"], "swarm");
  EXPECT_EQ(j["Driver"], "overlay");
  // The ingress network holds 10.0.0.0/24: the next block of the default pool.
  EXPECT_EQ(
      j["IPAM"].dump(),
      R"({"Driver":"default","Options":null,"Config":[{"Subnet":"10.0.1.0/24","Gateway":"10.0.1.1"}]})");
  EXPECT_EQ(j["Options"].dump(), R"({"com.docker.network.driver.overlay.vxlanid_list":"4097"})");
  EXPECT_EQ(j["Labels"].dump(), R"({"a":"b"})");
  EXPECT_TRUE(j["Containers"].is_null());
  EXPECT_EQ(j["ConfigFrom"].dump(), R"({"Network":""})");
}

TEST_F(NetworkRoutesTest, UserIpamConfigIsKeptWithItsRange) {
  Create(
      R"({"Name":"pn2","Driver":"overlay","Attachable":true,"Internal":true,"Options":{"x":"y"},"IPAM":{"Driver":"default","Config":[{"Subnet":"10.20.0.0/16","Gateway":"10.20.0.254","IPRange":"10.20.1.0/24"}]}})");
  json j = json::parse(Call("GET", "/v1.41/networks/pn2").body);
  EXPECT_EQ(j["IPAM"]["Config"].dump(),
            R"([{"Subnet":"10.20.0.0/16","IPRange":"10.20.1.0/24","Gateway":"10.20.0.254"}])");
  EXPECT_EQ(j["Internal"], true);
  EXPECT_EQ(j["Attachable"], true);
  EXPECT_EQ(j["Options"]["x"], "y");
  EXPECT_TRUE(j["Labels"].is_null());
}

TEST_F(NetworkRoutesTest, CreateErrorsAsDockerReportsThem) {
  Create(R"({"Name":"pn1","Driver":"overlay"})");
  Create(R"({"Name":"pn2","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.20.0.0/16"}]}})");
  struct Case {
    std::string body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"Name":"pn1","Driver":"overlay"})", 409, "network with name pn1 already exists"},
      {R"({"Name":"host","Driver":"overlay"})", 409, "network with name host already exists"},
      {R"({"Name":"ingress","Driver":"overlay"})", 409, "network with name ingress already exists"},
      {R"({"Name":"PN1","Driver":"overlay"})", 500,
       "rpc error: code = Unknown desc = name conflicts with an existing object"},
      {R"({"Name":"","Driver":"overlay"})", 500, "invalid name: "},
      {R"({"Name":"bad name","Driver":"overlay"})", 400,
       "rpc error: code = InvalidArgument desc = name must be valid as a DNS name component"},
      {R"({"Name":"a.b","Driver":"overlay"})", 400,
       "rpc error: code = InvalidArgument desc = name must be valid as a DNS name component"},
      {R"({"Name":"x","Driver":"nosuchdriver"})", 404, "plugin \"nosuchdriver\" not found"},
      {R"({"Name":"x","Driver":"overlay","Scope":"local"})", 403,
       "cannot downgrade network scope for overlay networks"},
      {R"({"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Subnet":"bogus"}]}})", 500,
       "Invalid subnet bogus : invalid CIDR address: bogus"},
      {R"({"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.30.0.0/24","Gateway":"10.31.0.1"}]}})",
       400,
       "rpc error: code = InvalidArgument desc = ipam configuration: subnet 10.30.0.0/24 does "
       "not contain gateway 10.31.0.1"},
      {R"({"Name":"x","Driver":"overlay","IPAM":{"Driver":"other"}})", 400,
       "rpc error: code = InvalidArgument desc = error during lookup of plugin other"},
      {R"({"Name":"x","Driver":"overlay","Ingress":true})", 409,
       "rpc error: code = AlreadyExists desc = ingress network ("},
      {R"({"Name":"x","Driver":"overlay","IPAM":{"Config":[{"Subnet":"10.20.5.0/24"}]}})", 400,
       "rpc error: code = InvalidArgument desc = ipam configuration: subnet 10.20.5.0/24 "
       "overlaps with subnet 10.20.0.0/16 of network pn2"},
      {R"({"Name":5})", 400,
       "json: cannot unmarshal number into Go struct field NetworkCreateRequest.Name of type "
       "string"},
      {R"([])", 400,
       "json: cannot unmarshal array into Go value of type types.NetworkCreateRequest"},
      {"", 400, "got EOF while reading request body"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.body);
    http::Response r = Call("POST", "/v1.41/networks/create", c.body);
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(Message(r).substr(0, c.message.size()), c.message);
  }
}

TEST_F(NetworkRoutesTest, ListShowsIngressAndThePredefinedLocalNetworks) {
  EXPECT_EQ(Names(""), (std::vector<std::string>{"ingress", "host", "none"}));
  EXPECT_EQ(Names(R"({"type":{"builtin":true}})"), (std::vector<std::string>{"host", "none"}));
  EXPECT_EQ(Names(R"({"scope":{"swarm":true}})"), (std::vector<std::string>{"ingress"}));
}

TEST_F(NetworkRoutesTest, ListFilters) {
  Create(R"({"Name":"pn1","Driver":"overlay","Labels":{"a":"b"}})");
  Create(R"({"Name":"pn10","Driver":"overlay"})");
  EXPECT_EQ(Names(R"({"name":{"pn1":true}})"), (std::vector<std::string>{"pn1"}));
  EXPECT_TRUE(Names(R"({"name":{"pn":true}})").empty());  // swarm: exact names only
  EXPECT_EQ(Names(R"({"name":{"o":true}})"), (std::vector<std::string>{"host", "none"}));
  EXPECT_EQ(Names(R"({"label":{"a=b":true}})"), (std::vector<std::string>{"pn1"}));
  EXPECT_TRUE(Names(R"({"label":{"a=c":true}})").empty());
  EXPECT_EQ(Names(R"({"driver":{"null":true}})"), (std::vector<std::string>{"none"}));
  EXPECT_EQ(Names(R"({"dangling":{"true":true}})").size(), 3u);  // ingress, pn1, pn10
  http::Response bogus = Call("GET", "/v1.41/networks", "", R"({"bogus":{"x":true}})");
  EXPECT_EQ(bogus.status, 400);
  EXPECT_EQ(Message(bogus), "Invalid filter 'bogus'");
  http::Response type = Call("GET", "/v1.41/networks", "", R"({"type":{"bogus":true}})");
  EXPECT_EQ(type.status, 500);
  EXPECT_EQ(Message(type), "invalid filter: 'type'='bogus'");
}

TEST_F(NetworkRoutesTest, InspectByIdPrefixAndItsErrors) {
  const std::string id = Create(R"({"Name":"pn1","Driver":"overlay"})");
  EXPECT_EQ(Call("GET", "/v1.41/networks/" + id.substr(0, 6)).status, 200);
  EXPECT_EQ(Call("GET", "/v1.41/networks/" + id).status, 200);
  http::Response missing = Call("GET", "/v1.41/networks/nosuch");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(Message(missing), "network nosuch not found");
  // A scope other than the network's is "not found", as the engine answers.
  http::Request r;
  r.method = "GET";
  r.path = "/v1.41/networks/pn1";
  r.query["scope"] = "local";
  EXPECT_EQ(router_.Dispatch(r).status, 404);
}

TEST_F(NetworkRoutesTest, DeleteRefusesPredefinedAndInUseNetworks) {
  const std::string id = Create(R"({"Name":"pn1","Driver":"overlay"})");
  http::Response host = Call("DELETE", "/v1.41/networks/host");
  EXPECT_EQ(host.status, 403);
  EXPECT_EQ(Message(host), "host is a pre-defined network and cannot be removed");
  http::Response svc = Call("POST", "/v1.41/services/create",
                            ServiceBody("s1", R"([{"Target":"pn1","Aliases":["app"]}])"));
  ASSERT_EQ(svc.status, 201) << svc.body;
  const std::string service_id = json::parse(svc.body)["ID"];
  http::Response busy = Call("DELETE", "/v1.41/networks/pn1");
  EXPECT_EQ(busy.status, 400);
  EXPECT_EQ(Message(busy), "rpc error: code = FailedPrecondition desc = network " + id +
                               " is in use by service " + service_id);
  ASSERT_EQ(Call("DELETE", "/v1.41/services/s1").status, 200);
  EXPECT_EQ(Call("DELETE", "/v1.41/networks/pn1").status, 204);
  EXPECT_EQ(Call("GET", "/v1.41/networks/pn1").status, 404);
}

TEST_F(NetworkRoutesTest, ServiceTargetsResolveToIds) {
  const std::string id = Create(R"({"Name":"pn1","Driver":"overlay"})");
  http::Response svc = Call("POST", "/v1.41/services/create",
                            ServiceBody("s1", R"([{"Target":"pn1","Aliases":["app","x"]}])"));
  ASSERT_EQ(svc.status, 201) << svc.body;
  json inspect = json::parse(Call("GET", "/v1.41/services/s1").body);
  EXPECT_EQ(inspect["Spec"]["TaskTemplate"]["Networks"].dump(),
            R"([{"Target":")" + id + R"(","Aliases":["app","x"]}])");
}

TEST_F(NetworkRoutesTest, ServiceNetworkErrorsAsDockerReportsThem) {
  struct Case {
    std::string networks;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"([{"Target":"nosuchnet"}])", 500, "network nosuchnet not found"},
      {R"([{"Target":"host"}])", 403,
       "The network host cannot be used with services. Only networks scoped to the swarm can "
       "be used, such as those created with the overlay driver."},
      {R"([{"Target":"ingress"}])", 400,
       "rpc error: code = InvalidArgument desc = Service cannot be explicitly attached to the "
       "ingress network \"ingress\""},
      {R"([{"Target":""}])", 400, "network  is ambiguous (3 matches found)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.networks);
    http::Response r = Call("POST", "/v1.41/services/create", ServiceBody("s", c.networks));
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(Message(r), c.message);
  }
}

}  // namespace
}  // namespace capsule::dockerapi
