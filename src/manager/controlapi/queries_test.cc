// The read side of the control API (List / Resolve / Inspect of secrets, services, nodes,
// tasks and the cluster) against the MemoryStore (held to etcd's behaviour by
// store_conformance_test) and the read model it feeds. Objects are
// written straight to the store with chosen IDs, so the orders can be asserted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "manager/controlapi/cluster.h"
#include "manager/controlapi/node.h"
#include "manager/controlapi/secret.h"
#include "manager/controlapi/service.h"
#include "manager/controlapi/task.h"
#include "store/memory_store.h"
#include "store/read_model.h"
#include "testing/status_macros.h"

namespace capsule::controlapi {
namespace {

using Ids = std::vector<std::string>;

template <typename Entry>
Ids IdsOf(const StatusOr<std::vector<Entry>>& entries) {
  Ids out;
  if (!entries.ok()) return {"error: " + entries.status().ToString()};
  for (const Entry& e : *entries) out.push_back(e->object.id);
  return out;
}

class QueriesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_unique<store::MemoryStore>();
    reads_ = std::make_unique<store::ReadModel>(*store_);
    ASSERT_OK(reads_->Start());
    secrets_ = std::make_unique<SecretApi>(*store_, *reads_, RealClock());
    services_ = std::make_unique<ServiceApi>(*store_, *reads_, RealClock());
    nodes_ = std::make_unique<NodeApi>(*store_, *reads_, RealClock(), nullptr);
    cluster_ = std::make_unique<ClusterApi>(*store_, *reads_, RealClock());
    tasks_ = std::make_unique<TaskApi>(*reads_);
  }
  void TearDown() override { reads_->Stop(); }

  void PutSecret(const std::string& id, const std::string& name, Labels labels) {
    Secret s;
    s.id = id;
    s.name = name;
    s.labels = std::move(labels);
    ASSERT_OK(store_
                  ->Create({kSecretsKind, id, name},
                           {EncodeSecretMeta(s), SecretBytes::CopyFrom(std::string_view("x"))})
                  .status());
  }

  static ServiceSpec Spec(const std::string& name, Labels labels, bool global) {
    ServiceSpec spec;
    spec.name = name;
    spec.labels = std::move(labels);
    spec.global = global;
    spec.replicas = global ? 0 : 2;
    spec.task_template.container.image = "busybox";
    return spec;
  }

  void PutService(const std::string& id, const ServiceSpec& spec) {
    Service s;
    s.id = id;
    s.spec = spec;
    ASSERT_OK(store_->Create({kServicesKind, id, spec.name}, {EncodeServiceMeta(s), {}}).status());
  }

  void PutNode(const std::string& id, const std::string& hostname, const std::string& spec_name,
               const std::string& role, Labels labels) {
    Node n;
    n.id = id;
    n.hostname = hostname;
    n.spec_name = spec_name;
    n.role = role;
    n.labels = std::move(labels);
    ASSERT_OK(store_->Create({kNodesKind, id, ""}, {EncodeNodeMeta(n), {}}).status());
  }

  void PutTask(const std::string& id, const std::string& service_id, uint64_t slot,
               const std::string& node_id, TaskState state, TaskState desired,
               const TaskSpec& spec) {
    Task t;
    t.id = id;
    t.service_id = service_id;
    t.slot = slot;
    t.node_id = node_id;
    t.status.state = state;
    t.desired_state = desired;
    t.spec = spec;
    ASSERT_OK(store_->Create({kTasksKind, id, ""}, {EncodeTaskMeta(t), {}}).status());
  }

  // Services s1 "web" (2 replicas, tier=front), s2 "API" (global, tier=back), s3 "db";
  // nodes n1 "host1" (manager, zone=a), n2 "host2" named "edge" (worker); tasks t1 (web.1,
  // running on n1), t2 (web.2 from an older spec, pending on n2), t3 (API on n1, running),
  // t4 (API on n2, desired shutdown).
  void PutCluster() {
    const ServiceSpec web = Spec("web", {{"tier", "front"}}, false);
    const ServiceSpec api = Spec("API", {{"tier", "back"}}, true);
    PutService("s1", web);
    PutService("s2", api);
    PutService("s3", Spec("db", {}, false));
    PutNode("n1", "host1", "", "manager", {{"zone", "a"}});
    PutNode("n2", "host2", "edge", "worker", {});
    TaskSpec old = web.task_template;
    old.container.image = "busybox:old";
    PutTask("t1", "s1", 1, "n1", TaskState::kRunning, TaskState::kRunning, web.task_template);
    PutTask("t2", "s1", 2, "n2", TaskState::kPending, TaskState::kRunning, old);
    PutTask("t3", "s2", 0, "n1", TaskState::kRunning, TaskState::kRunning, api.task_template);
    PutTask("t4", "s2", 0, "n2", TaskState::kRunning, TaskState::kShutdown, api.task_template);
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<store::ReadModel> reads_;
  std::unique_ptr<SecretApi> secrets_;
  std::unique_ptr<ServiceApi> services_;
  std::unique_ptr<NodeApi> nodes_;
  std::unique_ptr<ClusterApi> cluster_;
  std::unique_ptr<TaskApi> tasks_;
};

TEST_F(QueriesTest, SecretListWalksTheIndexOfTheFirstFilterThenMatchesAll) {
  // ID order a1, a9, b2, c3; lower-cased name order c3, a9, a1, b2.
  PutSecret("a1", "Prod-db", {{"env", "prod"}});
  PutSecret("b2", "prod-web", {{"env", "prod"}, {"tier", "web"}});
  PutSecret("c3", "dev-db", {{"env", "dev"}});
  PutSecret("a9", "other", {});
  struct Case {
    const char* what;
    SecretFilters filters;
    Ids want;
  };
  const Case cases[] = {
      {"unfiltered: ID order", {}, {"a1", "a9", "b2", "c3"}},
      {"names: exact, case-insensitive", {.names = {"PROD-DB"}}, {"a1"}},
      {"names: in filter order", {.names = {"prod-web", "prod-db"}}, {"b2", "a1"}},
      {"names: no prefix match", {.names = {"prod"}}, {}},
      {"names: each secret once", {.names = {"prod-db", "PROD-DB"}}, {"a1"}},
      {"name prefixes: filter order, then name order",
       {.name_prefixes = {"d", "p"}},
       {"c3", "a1", "b2"}},
      {"name prefixes: case-insensitive", {.name_prefixes = {"PROD-W"}}, {"b2"}},
      {"name prefixes: each secret once", {.name_prefixes = {"prod", "prod-d"}}, {"a1", "b2"}},
      {"ID prefixes: filter order, then ID order", {.id_prefixes = {"b", "a"}}, {"b2", "a1", "a9"}},
      {"ID prefixes: case-sensitive", {.id_prefixes = {"A"}}, {}},
      {"ID prefixes: each secret once", {.id_prefixes = {"a", "a1"}}, {"a1", "a9"}},
      {"names walk, then the ID filter must match too",
       {.names = {"prod-db"}, .id_prefixes = {"b"}},
       {}},
      {"name prefixes walk, then the names filter must match too",
       {.names = {"prod-web"}, .name_prefixes = {"prod"}},
       {"b2"}},
      {"ID prefix and label", {.id_prefixes = {"a"}, .labels = {"env=prod"}}, {"a1"}},
      {"label key", {.labels = {"env"}}, {"a1", "b2", "c3"}},
      {"labels AND'ed", {.labels = {"env=prod", "tier"}}, {"b2"}},
      {"label with an empty value", {.labels = {"env="}}, {}},
  };
  for (const Case& c : cases) EXPECT_EQ(IdsOf(secrets_->List(c.filters)), c.want) << c.what;
}

TEST_F(QueriesTest, SecretResolveByIdThenNameThenUniqueIdPrefix) {
  PutSecret("a1", "Prod-db", {});
  PutSecret("a9", "other", {});
  PutSecret("c3", "dev-db", {});
  EXPECT_EQ((*secrets_->Resolve("a9"))->object.id, "a9");
  EXPECT_EQ((*secrets_->Resolve("DEV-DB"))->object.id, "c3");
  EXPECT_EQ((*secrets_->Resolve("c"))->object.id, "c3");
  EXPECT_EQ((*secrets_->Resolve("a1"))->json, (*secrets_->List({.names = {"prod-db"}}))[0]->json);
  StatusOr<store::SecretEntry> ambiguous = secrets_->Resolve("a");
  EXPECT_EQ(ambiguous.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ambiguous.status().message(), "secret a is ambiguous (2 matches found)");
  StatusOr<store::SecretEntry> missing = secrets_->Resolve("zz");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "secret zz not found");
}

TEST_F(QueriesTest, ServiceListFiltersAndOrders) {
  PutCluster();
  struct Case {
    const char* what;
    ServiceFilters filters;
    Ids want;
  };
  const Case cases[] = {
      {"unfiltered: ID order", {}, {"s1", "s2", "s3"}},
      {"name prefixes: name order, case-insensitive", {.name_prefixes = {"W", "a"}}, {"s2", "s1"}},
      {"ID prefix", {.id_prefixes = {"s3"}}, {"s3"}},
      {"label", {.labels = {"tier=front"}}, {"s1"}},
      {"mode", {.modes = {"global"}}, {"s2"}},
      {"runtime container", {.runtimes = {"container"}}, {"s1", "s2", "s3"}},
      {"other runtime", {.runtimes = {"plugin"}}, {}},
  };
  for (const Case& c : cases) EXPECT_EQ(IdsOf(services_->List(c.filters)), c.want) << c.what;
}

TEST_F(QueriesTest, ServiceInspectInsertsSwarmDefaultsOnlyWhenAsked) {
  PutCluster();
  StatusOr<store::ServiceEntry> plain = services_->Inspect("db", false);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ((*plain)->json, (*services_->Resolve("s3"))->json);
  StatusOr<store::ServiceEntry> full = services_->Inspect("db", true);
  ASSERT_TRUE(full.ok()) << full.status();
  const nlohmann::json j = nlohmann::json::parse((*full)->json);
  EXPECT_EQ(j["Spec"]["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"], 10000000000LL);
  EXPECT_EQ(j["Spec"]["EndpointSpec"], nlohmann::json({{"Mode", "vip"}}));
  EXPECT_TRUE(j["Spec"].contains("UpdateConfig"));
  EXPECT_EQ(j["Version"]["Index"], (*plain)->mod_revision);
  EXPECT_FALSE(nlohmann::json::parse((*plain)->json)["Spec"].contains("EndpointSpec"));
  // The engine's lookup: the exact name only.
  EXPECT_EQ(services_->Inspect("DB", false).status().message(), "service DB not found");
}

TEST_F(QueriesTest, ServiceTaskCountsAsSwarmCountsThem) {
  PutCluster();
  ServiceTaskCounts web = services_->TaskCounts((*services_->Resolve("web"))->object);
  EXPECT_EQ(web.running, 1u);
  EXPECT_EQ(web.desired, 2u);  // Replicas
  ServiceTaskCounts api = services_->TaskCounts((*services_->Resolve("API"))->object);
  EXPECT_EQ(api.running, 2u);
  EXPECT_EQ(api.desired, 1u);  // global: the tasks desired running
  EXPECT_EQ(api.completed, 0u);
}

TEST_F(QueriesTest, NodeListAndResolve) {
  PutCluster();
  struct Case {
    const char* what;
    NodeFilters filters;
    Ids want;
  };
  const Case cases[] = {
      {"unfiltered", {}, {"n1", "n2"}},
      {"name: hostname prefix", {.name_prefixes = {"host"}}, {"n1", "n2"}},
      {"name: spec name prefix", {.name_prefixes = {"ed"}}, {"n2"}},
      {"role", {.roles = {"worker"}}, {"n2"}},
      {"membership accepted", {.memberships = {"accepted"}}, {"n1", "n2"}},
      {"membership pending", {.memberships = {"pending"}}, {}},
      {"label", {.labels = {"zone=a"}}, {"n1"}},
      {"node.label", {.node_labels = {"zone"}}, {"n1"}},
  };
  for (const Case& c : cases) EXPECT_EQ(IdsOf(nodes_->List(c.filters)), c.want) << c.what;
  EXPECT_EQ((*nodes_->Resolve("host2"))->object.id, "n2");
  EXPECT_EQ((*nodes_->Resolve("edge"))->object.id, "n2");
  EXPECT_EQ(nodes_->Resolve("n").status().message(), "node n is ambiguous (2 matches found)");
}

TEST_F(QueriesTest, TaskListFilters) {
  PutCluster();
  struct Case {
    const char* what;
    TaskFilters filters;
    Ids want;
  };
  const Case cases[] = {
      {"unfiltered", {}, {"t1", "t2", "t3", "t4"}},
      {"service by name", {.services = {"web"}}, {"t1", "t2"}},
      {"service by ID prefix", {.services = {"s2"}}, {"t3", "t4"}},
      {"two services", {.services = {"s1", "API"}}, {"t1", "t2", "t3", "t4"}},
      {"node by hostname", {.nodes = {"host1"}}, {"t1", "t3"}},
      {"service and node", {.services = {"web"}, .nodes = {"n2"}}, {"t2"}},
      {"desired state, case-insensitive", {.desired_states = {"Shutdown"}}, {"t4"}},
      {"empty desired state ignored", {.desired_states = {""}}, {"t1", "t2", "t3", "t4"}},
      {"name prefix (replicated)", {.name_prefixes = {"web.1."}}, {"t1"}},
      {"name prefix (global: node ID)", {.name_prefixes = {"API.n1."}}, {"t3"}},
      {"ID prefix", {.id_prefixes = {"t2", "t4"}}, {"t2", "t4"}},
      {"the service's labels", {.labels = {"tier=back"}}, {"t3", "t4"}},
      {"up to date", {.up_to_date = true}, {"t1", "t3", "t4"}},
      {"up to date, one service", {.services = {"web"}, .up_to_date = true}, {"t1"}},
      {"runtime container", {.runtimes = {"container", "plugin"}}, {"t1", "t2", "t3", "t4"}},
      {"other runtime", {.runtimes = {"plugin"}}, {}},
  };
  for (const Case& c : cases) EXPECT_EQ(IdsOf(tasks_->List(c.filters)), c.want) << c.what;
}

TEST_F(QueriesTest, TaskListErrorsAreTheLookupsAndTheStateParsers) {
  PutCluster();
  StatusOr<std::vector<store::TaskEntry>> service = tasks_->List({.services = {"nope"}});
  EXPECT_EQ(service.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service.status().message(), "service nope not found");
  StatusOr<std::vector<store::TaskEntry>> node = tasks_->List({.nodes = {"n"}});
  EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(node.status().message(), "node n is ambiguous (2 matches found)");
  StatusOr<std::vector<store::TaskEntry>> state = tasks_->List({.desired_states = {"bogus"}});
  EXPECT_EQ(state.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(state.status().message(), "Invalid desired-state filter: 'bogus'");
}

TEST_F(QueriesTest, TaskLookupsForInspectAndForLogs) {
  PutCluster();
  // Inspect: ID, name, ID prefix. Logs: ID or ID prefix only.
  EXPECT_EQ((*tasks_->Resolve("web.1.t1"))->object.id, "t1");
  EXPECT_EQ(tasks_->ResolveById("web.1.t1").status().message(), "task web.1.t1 not found");
  EXPECT_EQ((*tasks_->ResolveById("t3"))->object.id, "t3");
  EXPECT_EQ(tasks_->ResolveById("t").status().message(), "task t is ambiguous (4 matches found)");
  // A service's tasks for its logs: ID, name (case-insensitively), unique ID prefix.
  EXPECT_EQ(IdsOf(tasks_->TasksOfService("WEB")), (Ids{"t1", "t2"}));
  EXPECT_EQ(IdsOf(tasks_->TasksOfService("s2")), (Ids{"t3", "t4"}));
  EXPECT_EQ(tasks_->TasksOfService("s").status().message(),
            "service s is ambiguous (3 matches found)");
  EXPECT_EQ(tasks_->TasksOfService("nope").status().message(), "service nope not found");
}

TEST_F(QueriesTest, ClusterGetWaitsForTheObjectAndSummaryCountsNodes) {
  PutNode("n1", "host1", "", "manager", {});
  PutNode("n2", "host2", "", "worker", {});
  StatusOr<store::ClusterEntry> none = cluster_->Get();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(none.status().message(), "the cluster object is not available yet");
  EXPECT_EQ(cluster_->Summary().cluster, nullptr);

  Cluster c;
  c.id = "c1";
  ASSERT_OK(store_->Create({kClusterKind, "c1", ""}, {EncodeClusterMeta(c), {}}).status());
  StatusOr<store::ClusterEntry> got = cluster_->Get();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->object.id, "c1");
  const SwarmSummary summary = cluster_->Summary();
  EXPECT_EQ(summary.nodes, 2u);
  EXPECT_EQ(summary.managers, 1);
  ASSERT_NE(summary.cluster, nullptr);
  EXPECT_EQ(summary.cluster->object.id, "c1");
}

}  // namespace
}  // namespace capsule::controlapi
