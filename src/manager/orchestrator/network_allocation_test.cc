// The orchestrator's network step on hand-made snapshots: VIPs before task addresses, no
// duplicates, exhaustion (the task waits, unscheduled), reuse once a task is dead.
#include "manager/orchestrator/network_allocation.h"

#include <gtest/gtest.h>

#include "manager/orchestrator/fake_cluster.h"
#include "manager/orchestrator/planner.h"
#include "manager/orchestrator/tasks.h"

namespace capsule::orchestrator {
namespace {

const TimePoint kNow = FromUnixNanos(1'700'000'000'000'000'000);

store::NetworkEntry NetworkEntry(const std::string& id, const std::string& subnet,
                                 const std::string& gateway) {
  auto e = std::make_shared<store::Versioned<Network>>();
  e->object.id = id;
  e->object.name = "net-" + id;
  e->object.ipam = {{subnet, "", gateway}};
  e->object.vxlan_ids = {4097};
  e->mod_revision = 3;
  return e;
}

store::ServiceEntry ServiceEntry(const std::string& id, const std::vector<std::string>& networks,
                                 const std::string& mode = "") {
  auto e = std::make_shared<store::Versioned<Service>>();
  e->object.id = id;
  e->object.spec = testing::Replicated(1);
  e->object.spec.name = "svc-" + id;
  for (const std::string& n : networks)
    e->object.spec.task_template.networks.push_back({n, {}, {}});
  if (!mode.empty()) e->object.spec.endpoint_spec = Json{{"Mode", mode}};
  e->mod_revision = 5;
  return e;
}

store::TaskEntry TaskEntry(const Service& s, const std::string& id, uint64_t slot) {
  auto e = std::make_shared<store::Versioned<Task>>();
  e->object = NewTask(s, 5, slot, "", kNow);
  e->object.id = id;
  e->mod_revision = 6;
  return e;
}

std::vector<std::string> Addresses(const WorkingSet& ws) {
  std::vector<std::string> out;
  for (const auto& [id, t] : ws.tasks()) {
    for (const NetworkAttachment& a : t.networks_attachments) {
      for (const std::string& addr : a.addresses) out.push_back(addr);
    }
  }
  return out;
}

TEST(NetworkAllocationTest, ServiceVipFirstThenOneAddressPerTask) {
  Snapshot snap;
  snap.networks = {NetworkEntry("n1", "10.0.1.0/24", "10.0.1.1")};
  snap.services = {ServiceEntry("s1", {"n1"})};
  snap.tasks = {TaskEntry(snap.services[0]->object, "t1", 1),
                TaskEntry(snap.services[0]->object, "t2", 2)};
  WorkingSet ws(snap);
  EXPECT_TRUE(AllocateNetworks(ws, snap.networks, kNow).empty());
  const Service& s = ws.services().at("s1").service;
  ASSERT_EQ(s.virtual_ips.size(), 1u);
  EXPECT_EQ(s.virtual_ips[0].network_id, "n1");
  EXPECT_EQ(s.virtual_ips[0].addr, "10.0.1.2/24");
  EXPECT_EQ(Addresses(ws), (std::vector<std::string>{"10.0.1.3/24", "10.0.1.4/24"}));
  const Task* t1 = ws.task("t1");
  ASSERT_EQ(t1->networks_attachments.size(), 1u);
  const Json& net = t1->networks_attachments[0].network;
  EXPECT_EQ(net["ID"], "n1");
  EXPECT_EQ(net["Version"]["Index"], 3);
  EXPECT_EQ(net["Spec"]["Name"], "net-n1");
  EXPECT_EQ(net["DriverState"]["Options"]["com.docker.network.driver.overlay.vxlanid_list"],
            "4097");
  // One service write and one write per task.
  EXPECT_EQ(ws.writes().size(), 3u);
}

TEST(NetworkAllocationTest, AllocatedStateIsStable) {
  Snapshot snap;
  snap.networks = {NetworkEntry("n1", "10.0.1.0/24", "10.0.1.1")};
  auto svc = ServiceEntry("s1", {"n1"});
  auto mutable_svc = std::const_pointer_cast<store::Versioned<Service>>(svc);
  mutable_svc->object.virtual_ips = {{"n1", "10.0.1.2/24"}};
  snap.services = {svc};
  auto task = TaskEntry(svc->object, "t1", 1);
  std::const_pointer_cast<store::Versioned<Task>>(task)->object.networks_attachments = {
      {"n1", Json::object(), {"10.0.1.3/24"}}};
  snap.tasks = {task};
  WorkingSet ws(snap);
  AllocateNetworks(ws, snap.networks, kNow);
  EXPECT_TRUE(ws.writes().empty());
}

TEST(NetworkAllocationTest, ExhaustedPoolLeavesTheTaskWaiting) {
  Snapshot snap;
  snap.networks = {NetworkEntry("n1", "10.50.0.0/30", "10.50.0.1")};  // one address: the VIP
  snap.services = {ServiceEntry("s1", {"n1"})};
  snap.tasks = {TaskEntry(snap.services[0]->object, "t1", 1)};
  WorkingSet ws(snap);
  std::set<std::string> waiting = AllocateNetworks(ws, snap.networks, kNow);
  EXPECT_EQ(waiting, (std::set<std::string>{"t1"}));
  EXPECT_EQ(ws.services().at("s1").service.virtual_ips[0].addr, "10.50.0.2/30");
  EXPECT_TRUE(ws.task("t1")->networks_attachments.empty());
}

TEST(NetworkAllocationTest, DeadTasksGiveTheirAddressBack) {
  Snapshot snap;
  snap.networks = {NetworkEntry("n1", "10.0.1.0/24", "10.0.1.1")};
  auto svc = ServiceEntry("s1", {"n1"});
  std::const_pointer_cast<store::Versioned<Service>>(svc)->object.virtual_ips = {
      {"n1", "10.0.1.2/24"}};
  snap.services = {svc};
  auto dead = TaskEntry(svc->object, "t-old", 1);
  Task& d = std::const_pointer_cast<store::Versioned<Task>>(dead)->object;
  d.networks_attachments = {{"n1", Json::object(), {"10.0.1.3/24"}}};
  d.status.state = TaskState::kFailed;
  d.desired_state = TaskState::kShutdown;
  auto stopping = TaskEntry(svc->object, "t-stopping", 2);
  Task& st = std::const_pointer_cast<store::Versioned<Task>>(stopping)->object;
  st.networks_attachments = {{"n1", Json::object(), {"10.0.1.4/24"}}};
  st.status.state = TaskState::kRunning;  // told to stop, not stopped yet: keeps its address
  st.desired_state = TaskState::kShutdown;
  snap.tasks = {dead, stopping, TaskEntry(svc->object, "t-new", 1)};
  WorkingSet ws(snap);
  AllocateNetworks(ws, snap.networks, kNow);
  ASSERT_EQ(ws.task("t-new")->networks_attachments.size(), 1u);
  EXPECT_EQ(ws.task("t-new")->networks_attachments[0].addresses,
            (std::vector<std::string>{"10.0.1.3/24"}));
}

TEST(NetworkAllocationTest, DnsrrServicesGetNoVip) {
  Snapshot snap;
  snap.networks = {NetworkEntry("n1", "10.0.1.0/24", "10.0.1.1")};
  snap.services = {ServiceEntry("s1", {"n1"}, "dnsrr")};
  snap.tasks = {TaskEntry(snap.services[0]->object, "t1", 1)};
  WorkingSet ws(snap);
  AllocateNetworks(ws, snap.networks, kNow);
  EXPECT_TRUE(ws.services().at("s1").service.virtual_ips.empty());
  EXPECT_EQ(Addresses(ws), (std::vector<std::string>{"10.0.1.2/24"}));
}

TEST(NetworkAllocationTest, MissingNetworksAreSkipped) {
  Snapshot snap;
  snap.networks = {NetworkEntry("n1", "10.0.1.0/24", "10.0.1.1")};
  snap.services = {ServiceEntry("s1", {"gone", "n1"})};
  snap.tasks = {TaskEntry(snap.services[0]->object, "t1", 1)};
  WorkingSet ws(snap);
  EXPECT_TRUE(AllocateNetworks(ws, snap.networks, kNow).empty());
  EXPECT_EQ(Addresses(ws), (std::vector<std::string>{"10.0.1.3/24"}));
}

TEST(NetworkAllocationTest, DuplicateTargetsGiveOneAddress) {
  ServiceSpec spec;
  spec.task_template.networks = {{"n1", {}, {}}, {"n1", {"x"}, {}}};
  EXPECT_EQ(EffectiveNetworks(spec).size(), 1u);
  spec.task_template.networks.clear();
  spec.networks = {{"n2", {}, {}}};  // the deprecated field when TaskTemplate has none
  ASSERT_EQ(EffectiveNetworks(spec).size(), 1u);
  EXPECT_EQ(EffectiveNetworks(spec)[0].target, "n2");
}

TEST(NetworkAllocationTest, PlannerDoesNotScheduleATaskWithoutItsAddress) {
  ::capsule::testing::FakeClock clock(kNow);
  Planner planner(clock);
  Snapshot snap;
  auto node = std::make_shared<store::Versioned<Node>>();
  node->object = testing::ReadyNode("node1", "host1");
  snap.nodes = {node};
  snap.networks = {NetworkEntry("n1", "10.50.0.0/30", "10.50.0.1")};
  snap.services = {ServiceEntry("s1", {"n1"})};
  std::vector<Write> writes = planner.Plan(snap);
  bool created = false;
  for (const Write& w : writes) {
    if (w.kind != Write::Kind::kCreateTask) continue;
    created = true;
    EXPECT_EQ(w.task.status.state, TaskState::kNew);
    EXPECT_TRUE(w.task.node_id.empty());
    EXPECT_TRUE(w.task.networks_attachments.empty());
  }
  EXPECT_TRUE(created);
}

}  // namespace
}  // namespace capsule::orchestrator
