// The list routes (GET /secrets, /services, /tasks, /nodes) stream their bodies from a
// snapshot of the read model: each must produce exactly the bytes the routes rendered whole
// before streaming (the oracles below are that old code), with the same headers, and a bad
// filter must still be a plain 400 with nothing streamed.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "dockerapi/error_table.h"
#include "dockerapi/http/url.h"
#include "dockerapi/json_array_body.h"
#include "dockerapi/route_helpers.h"
#include "dockerapi/routes.h"
#include "manager/controlapi/cluster.h"
#include "manager/controlapi/node.h"
#include "manager/controlapi/secret.h"
#include "manager/controlapi/service.h"
#include "manager/controlapi/task.h"
#include "objects/objects.h"
#include "store/memory_store.h"
#include "store/read_model.h"
#include "testing/status_macros.h"

namespace capsule::dockerapi {
namespace {

// The entries of a list that must succeed.
template <typename Entry>
std::vector<Entry> Must(StatusOr<std::vector<Entry>> list) {
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *std::move(list) : std::vector<Entry>{};
}

class ManagerBackend : public Backend {
 public:
  explicit ManagerBackend(std::shared_ptr<const ManagerServices> mgr) : mgr_(std::move(mgr)) {}
  LocalSwarmInfo SwarmInfo() const override { return {}; }
  StatusOr<std::string> InitSwarm(const InitRequest&) override { return std::string(); }
  Status LeaveSwarm(bool) override { return absl::OkStatus(); }
  Status JoinSwarm(const JoinRequest&) override { return absl::OkStatus(); }
  StatusOr<std::shared_ptr<const ManagerServices>> Manager() const override { return mgr_; }
  std::string Hostname() const override { return "test-host"; }

 private:
  std::shared_ptr<const ManagerServices> mgr_;
};

class ListRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(reads_.Start());
    auto mgr = std::make_shared<ManagerServices>();
    mgr->node_id = "n1";
    mgr->secrets = &secrets_;
    mgr->nodes = &nodes_;
    mgr->cluster = &cluster_;
    mgr->services = &services_;
    mgr->tasks = &tasks_;
    backend_ = std::make_unique<ManagerBackend>(mgr);
    RegisterAllRoutes(router_, *backend_);
    Populate();
  }
  void TearDown() override { reads_.Stop(); }

  // 300 secrets (names with characters JSON escapes, labels), 40 services (every 3rd
  // global), 120 tasks over them, 12 nodes.
  void Populate() {
    for (int i = 0; i < 300; ++i) {
      Secret s;
      s.id = "sec" + std::to_string(1000 + i * 7 % 300);
      s.name = "s-" + std::to_string(i) + (i % 5 == 0 ? "-\"q\"<&>\\" : "");
      if (i % 2 == 0) s.labels = {{"env", i % 4 == 0 ? "prod" : "dev"}};
      ASSERT_OK(store_
                    .Create({kSecretsKind, s.id, s.name},
                            {EncodeSecretMeta(s), SecretBytes::CopyFrom(std::string_view("x"))})
                    .status());
    }
    for (int i = 0; i < 12; ++i) {
      Node n;
      n.id = "node" + std::to_string(10 + i);
      n.hostname = "host-" + std::to_string(i);
      n.role = i < 3 ? "manager" : "worker";
      n.labels = {{"zone", i % 2 ? "a" : "b"}};
      ASSERT_OK(store_.Create({kNodesKind, n.id, ""}, {EncodeNodeMeta(n), {}}).status());
    }
    for (int i = 0; i < 40; ++i) {
      Service s;
      s.id = "svc" + std::to_string(100 + i);
      s.spec.name = "web-" + std::to_string(i);
      s.spec.global = i % 3 == 0;
      s.spec.replicas = s.spec.global ? 0 : 3;
      s.spec.labels = {{"tier", i % 2 ? "front" : "back"}};
      s.spec.task_template.container.image = "busybox";
      ASSERT_OK(
          store_.Create({kServicesKind, s.id, s.spec.name}, {EncodeServiceMeta(s), {}}).status());
      for (int slot = 1; slot <= 3; ++slot) {
        Task t;
        t.id = "task" + std::to_string(1000 + i * 3 + slot);
        t.service_id = s.id;
        t.slot = s.spec.global ? 0 : static_cast<uint64_t>(slot);
        t.node_id = "node" + std::to_string(10 + (i + slot) % 12);
        t.status.state = slot == 2 ? TaskState::kPending : TaskState::kRunning;
        t.spec = s.spec.task_template;
        ASSERT_OK(store_.Create({kTasksKind, t.id, ""}, {EncodeTaskMeta(t), {}}).status());
      }
    }
  }

  http::Response Get(const std::string& target) {
    http::Request req;
    req.method = "GET";
    req.target = target;
    EXPECT_TRUE(http::ParseTarget(&req).ok());
    return router_.Dispatch(req);
  }

  // The response's body as the server would write it, checking that a streamed body is
  // exactly as long as it announced.
  static std::string BodyOf(const http::Response& r) {
    if (!r.source) return r.body;
    const uint64_t size = r.source->Size();
    std::string body = http::DrainBody(*r.source);
    EXPECT_EQ(body.size(), size);
    return body;
  }

  static void ExpectSameResponse(const http::Response& streamed, const http::Response& whole) {
    EXPECT_EQ(streamed.status, whole.status);
    EXPECT_EQ(streamed.headers, whole.headers);
    ASSERT_TRUE(streamed.source) << "not streamed";
    EXPECT_TRUE(streamed.body.empty());
    EXPECT_EQ(BodyOf(streamed), whole.body);
  }

  store::MemoryStore store_;
  store::ReadModel reads_{store_};
  controlapi::SecretApi secrets_{store_, reads_, RealClock()};
  controlapi::ServiceApi services_{store_, reads_, RealClock()};
  controlapi::NodeApi nodes_{store_, reads_, RealClock(), nullptr};
  controlapi::ClusterApi cluster_{store_, reads_, RealClock()};
  controlapi::TaskApi tasks_{reads_};
  std::unique_ptr<ManagerBackend> backend_;
  http::Router router_;
};

const std::string kFilterLabelProd = "?filters=%7B%22label%22%3A%7B%22env%3Dprod%22%3Atrue%7D%7D";

TEST_F(ListRoutesTest, SecretListIsTheOldRenderingByteForByte) {
  auto all = Must(secrets_.List({}));
  ASSERT_EQ(all.size(), 300u);
  ExpectSameResponse(Get("/v1.41/secrets"), JsonResponse(200, JsonArrayOf(all)));

  controlapi::SecretFilters prod;
  prod.labels = {"env=prod"};
  auto some = Must(secrets_.List(prod));
  ASSERT_EQ(some.size(), 75u);
  ExpectSameResponse(Get("/secrets" + kFilterLabelProd), JsonResponse(200, JsonArrayOf(some)));
}

TEST_F(ListRoutesTest, EmptyListIsTheOldRendering) {
  ExpectSameResponse(Get("/secrets?filters=%7B%22name%22%3A%7B%22nothing%22%3Atrue%7D%7D"),
                     JsonResponse(200, "[]"));
}

TEST_F(ListRoutesTest, TaskListIsTheOldRenderingByteForByte) {
  auto all = Must(tasks_.List({}));
  ASSERT_EQ(all.size(), 120u);
  ExpectSameResponse(Get("/tasks"), JsonResponse(200, JsonArrayOf(all)));
  controlapi::TaskFilters on_node;
  on_node.nodes = {"node13"};
  auto some = Must(tasks_.List(on_node));
  ASSERT_FALSE(some.empty());
  ExpectSameResponse(Get("/tasks?filters=%7B%22node%22%3A%7B%22node13%22%3Atrue%7D%7D"),
                     JsonResponse(200, JsonArrayOf(some)));
}

TEST_F(ListRoutesTest, ServiceListIsTheOldRenderingByteForByte) {
  auto all = Must(services_.List({}));
  ASSERT_EQ(all.size(), 40u);
  ExpectSameResponse(Get("/services"), JsonResponse(200, JsonArrayOf(all)));
}

TEST_F(ListRoutesTest, ServiceListWithStatusIsTheOldRenderingByteForByte) {
  auto all = Must(services_.List({}));
  // The old renderer of ?status=true.
  std::string body = "[";
  for (const store::ServiceEntry& e : all) {
    if (body.size() > 1) body += ',';
    body.append(e->json, 0, e->json.size() - 1);
    const controlapi::ServiceTaskCounts c = services_.TaskCounts(e->object);
    body += ",\"ServiceStatus\":" +
            Json{{"RunningTasks", c.running},
                 {"DesiredTasks", c.desired},
                 {"CompletedTasks", c.completed}}
                .dump() +
            "}";
  }
  body += ']';
  const http::Response r = Get("/v1.41/services?status=true");
  ExpectSameResponse(r, JsonResponse(200, body));
  EXPECT_NE(BodyOf(Get("/services?status=1")).find("\"RunningTasks\":2"), std::string::npos);
}

TEST_F(ListRoutesTest, NodeListIsTheOldRenderingByteForByte) {
  auto all = Must(nodes_.List({}));
  ASSERT_EQ(all.size(), 12u);
  Json old = Json::array();
  for (const store::NodeEntry& n : all) old.push_back(NodeJson(n->object, n->mod_revision));
  ExpectSameResponse(Get("/nodes"), JsonResponse(200, old.dump()));
}

// After `swarm init --force-new-cluster` the other managers' nodes stay (role manager) but
// their store members are gone: as Docker (ManagerStatus from the Raft member list only), they
// have no ManagerStatus and /info does not count or list them.
TEST_F(ListRoutesTest, ManagersThatAreNotStoreMembersHaveNoManagerStatusAndAreNotCounted) {
  class ActiveBackend : public ManagerBackend {
   public:
    using ManagerBackend::ManagerBackend;
    LocalSwarmInfo SwarmInfo() const override {
      LocalSwarmInfo info;
      info.state = "active";
      return info;
    }
  };
  auto mgr = std::make_shared<ManagerServices>();
  mgr->node_id = "node10";
  mgr->nodes = &nodes_;
  mgr->cluster = &cluster_;
  // node10..node12 are the managers; node12's member was removed.
  mgr->reachability = [](const std::string& id) -> std::string {
    if (id == "node12") return "";
    return id == "node11" ? "unreachable" : "reachable";
  };
  ActiveBackend backend(mgr);
  http::Router router;
  RegisterAllRoutes(router, backend);
  const auto get = [&](const std::string& target) {
    http::Request req;
    req.method = "GET";
    req.target = target;
    EXPECT_TRUE(http::ParseTarget(&req).ok());
    http::Response r = router.Dispatch(req);
    EXPECT_EQ(r.status, 200) << r.body;
    return Json::parse(BodyOf(r));
  };

  std::map<std::string, Json> by_id;
  for (const Json& n : get("/nodes")) by_id[n["ID"].get<std::string>()] = n;
  ASSERT_EQ(by_id.size(), 12u);
  EXPECT_EQ(by_id["node10"]["ManagerStatus"]["Reachability"], "reachable");
  EXPECT_EQ(by_id["node11"]["ManagerStatus"]["Reachability"], "unreachable");
  EXPECT_FALSE(by_id["node12"].contains("ManagerStatus"));
  EXPECT_EQ(by_id["node12"]["Spec"]["Role"], "manager");
  EXPECT_FALSE(get("/nodes/node12").contains("ManagerStatus"));
  EXPECT_EQ(get("/nodes/node11")["ManagerStatus"]["Reachability"], "unreachable");

  const Json swarm = get("/info")["Swarm"];
  EXPECT_EQ(swarm["Managers"], 2);
  EXPECT_EQ(swarm["Nodes"], 12);
  ASSERT_EQ(swarm["RemoteManagers"].size(), 2u);
  EXPECT_EQ(swarm["RemoteManagers"][0]["NodeID"], "node10");
  EXPECT_EQ(swarm["RemoteManagers"][1]["NodeID"], "node11");
  EXPECT_TRUE(swarm.contains("Warnings"));  // two managers now: Docker's warning
}

TEST_F(ListRoutesTest, BadFiltersAreA400WithNothingStreamed) {
  // Filters that are not JSON: the error the route always gave, still before any byte.
  const http::Response not_json = Get("/secrets?filters=%7Bnot-json");
  EXPECT_EQ(not_json.status, 500);
  EXPECT_FALSE(not_json.source);
  for (const char* target :
       {"/secrets?filters=%7B%22colour%22%3A%7B%22x%22%3Atrue%7D%7D",
        "/services?filters=%7B%22colour%22%3A%7B%22x%22%3Atrue%7D%7D", "/services?status=maybe",
        "/tasks?filters=%7B%22colour%22%3A%7B%22x%22%3Atrue%7D%7D",
        "/nodes?filters=%7B%22colour%22%3A%7B%22x%22%3Atrue%7D%7D"}) {
    SCOPED_TRACE(target);
    const http::Response r = Get(target);
    EXPECT_EQ(r.status, 400);
    EXPECT_FALSE(r.source);
    EXPECT_NE(r.body.find("\"message\""), std::string::npos);
  }
}

TEST_F(ListRoutesTest, AStreamedListIsTheSnapshotOfWhenItWasAsked) {
  const http::Response r = Get("/secrets");
  const uint64_t size = r.source->Size();
  // A secret created after the request was handled is not in its body.
  Secret s;
  s.id = "zzz-late";
  s.name = "late";
  ASSERT_OK(store_
                .Create({kSecretsKind, s.id, s.name},
                        {EncodeSecretMeta(s), SecretBytes::CopyFrom(std::string_view("x"))})
                .status());
  ASSERT_OK(reads_.WaitFresh());
  const std::string body = BodyOf(r);
  EXPECT_EQ(body.size(), size);
  EXPECT_EQ(body.find("zzz-late"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(body).size(), 300u);
}

}  // namespace
}  // namespace capsule::dockerapi
