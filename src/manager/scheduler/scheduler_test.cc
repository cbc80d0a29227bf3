#include "manager/scheduler/scheduler.h"

#include <gtest/gtest.h>

namespace capsule::scheduler {
namespace {

const TimePoint kNow = FromUnixNanos(1800000000LL * 1000000000LL);

Node MakeNode(const std::string& id, const std::string& state = "ready",
              const std::string& availability = "active") {
  Node n;
  n.id = id;
  n.hostname = "host-" + id;
  n.role = "worker";
  n.state = state;
  n.availability = availability;
  return n;
}

Task Unassigned(const std::string& service, std::vector<std::string> constraints = {}) {
  Task t;
  t.id = "t-" + service;
  t.service_id = service;
  t.spec.placement.constraints = std::move(constraints);
  t.status.state = TaskState::kNew;
  return t;
}

Task Running(const std::string& service, const std::string& node) {
  Task t = Unassigned(service);
  t.node_id = node;
  t.status.state = TaskState::kRunning;
  return t;
}

TEST(Scheduler, SpreadsTasksOfAServiceFirstThenTotalLoad) {
  NodeSet set({MakeNode("a"), MakeNode("b"), MakeNode("c")}, kNow);
  set.AddTask(Running("s1", "a"));
  set.AddTask(Running("other", "b"));
  set.AddTask(Running("other", "b"));
  // c has nothing; a has one task of s1; b two of another service.
  EXPECT_EQ(set.Pick(Unassigned("s1")).node_id, "c");
  // Now a and c each hold one s1 task; b holds none of s1 → b despite its total load.
  EXPECT_EQ(set.Pick(Unassigned("s1")).node_id, "b");
  // a: 1 s1 / 1 total, b: 1 / 3, c: 1 / 1 → lowest total, then lowest ID.
  EXPECT_EQ(set.Pick(Unassigned("s1")).node_id, "a");
  EXPECT_EQ(set.Pick(Unassigned("s1")).node_id, "c");
}

TEST(Scheduler, FinishedTasksDoNotCountAsLoad) {
  NodeSet set({MakeNode("a"), MakeNode("b")}, kNow);
  Task done = Running("s1", "a");
  done.status.state = TaskState::kComplete;
  set.AddTask(done);
  Task stopping = Running("s1", "a");
  stopping.desired_state = TaskState::kShutdown;
  set.AddTask(stopping);
  EXPECT_EQ(set.Pick(Unassigned("s1")).node_id, "a");
}

TEST(Scheduler, OnlyReadyActiveNodesThatMatchConstraints) {
  NodeSet set({MakeNode("a", "down"), MakeNode("b", "ready", "drain"),
               MakeNode("c", "ready", "pause"), MakeNode("d")},
              kNow);
  EXPECT_EQ(set.Pick(Unassigned("s1")).node_id, "d");
  Decision none = set.Pick(Unassigned("s1", {"node.hostname==host-a"}));
  EXPECT_EQ(none.node_id, "");
  EXPECT_EQ(none.explanation,
            "no suitable node (3 nodes not available for new tasks; scheduling constraints not "
            "satisfied on 1 node)");
  EXPECT_EQ(set.Pick(Unassigned("s1", {"node.hostname==host-d"})).node_id, "d");
}

TEST(Scheduler, ExplanationListsTheFilterWithMostFailuresFirst) {
  NodeSet set({MakeNode("a", "down"), MakeNode("b"), MakeNode("c")}, kNow);
  Decision none = set.Pick(Unassigned("s1", {"node.labels.zone==x"}));
  EXPECT_EQ(none.explanation,
            "no suitable node (scheduling constraints not satisfied on 2 nodes; 1 node not "
            "available for new tasks)");
}

TEST(Scheduler, NoNodesAtAll) {
  NodeSet set({}, kNow);
  EXPECT_EQ(set.Pick(Unassigned("s1")).explanation, "no suitable node");
}

TEST(Scheduler, RecentFailureOnANodeSendsTheRetryElsewhere) {
  NodeSet set({MakeNode("a"), MakeNode("b")}, kNow);
  Task failed = Running("s1", "a");
  failed.status.state = TaskState::kRejected;
  failed.status.timestamp = kNow - std::chrono::seconds(10);
  set.AddTask(failed);
  EXPECT_EQ(set.Pick(Unassigned("s1")).node_id, "b");
  // ... but not forever: after 5 minutes the failure is forgotten.
  NodeSet later({MakeNode("a"), MakeNode("b")}, kNow + std::chrono::minutes(6));
  later.AddTask(failed);
  later.AddTask(Running("other", "b"));
  EXPECT_EQ(later.Pick(Unassigned("s1")).node_id, "a");
}

TEST(Scheduler, ConfirmChecksAPreassignedNode) {
  NodeSet set({MakeNode("a"), MakeNode("b", "ready", "drain")}, kNow);
  Task t = Unassigned("g");
  t.node_id = "a";
  EXPECT_EQ(set.Confirm(t).node_id, "a");
  t.node_id = "b";
  EXPECT_EQ(set.Confirm(t).explanation, "no suitable node (1 node not available for new tasks)");
  t.node_id = "gone";
  EXPECT_EQ(set.Confirm(t).node_id, "");
}

TEST(Scheduler, EligibleNodes) {
  NodeSet set({MakeNode("a"), MakeNode("b", "down"), MakeNode("c")}, kNow);
  TaskSpec spec;
  EXPECT_EQ(set.Eligible(spec), (std::vector<std::string>{"a", "c"}));
  spec.placement.constraints = {"node.id!=a"};
  EXPECT_EQ(set.Eligible(spec), (std::vector<std::string>{"c"}));
}

constexpr int64_t kGiB = 1LL << 30;

Node Sized(const std::string& id, int64_t cpus, int64_t memory) {
  Node n = MakeNode(id);
  n.nano_cpus = cpus * 1000000000LL;
  n.memory_bytes = memory;
  return n;
}

Task Reserving(Task t, int64_t nano_cpus, int64_t memory) {
  t.spec.resources = ResourceRequirements{std::nullopt, ResourceReservations{nano_cpus, memory}};
  return t;
}

TEST(SchedulerResources, ANodeWithoutRoomGetsNoTask) {
  NodeSet set({Sized("a", 2, 4 * kGiB)}, kNow);
  const Decision d = set.Pick(Reserving(Unassigned("s1"), 0, 8 * kGiB));
  EXPECT_EQ(d.node_id, "");
  EXPECT_EQ(d.explanation, "no suitable node (insufficient resources on 1 node)");
  EXPECT_EQ(set.Pick(Reserving(Unassigned("s1"), 3000000000LL, 0)).explanation,
            "no suitable node (insufficient resources on 1 node)");
}

TEST(SchedulerResources, ReservationsOfPlacedTasksAreSubtracted) {
  NodeSet set({Sized("a", 4, 4 * kGiB), Sized("b", 4, 4 * kGiB)}, kNow);
  set.AddTask(Reserving(Running("other", "a"), 0, 3 * kGiB));
  // a has 1 GiB left: a 2 GiB task goes to b, though b would also win on load otherwise.
  EXPECT_EQ(set.Pick(Reserving(Unassigned("s1"), 0, 2 * kGiB)).node_id, "b");
  // b now has 2 GiB left, a 1 GiB: a second 2 GiB task fits on b only.
  EXPECT_EQ(set.Pick(Reserving(Unassigned("s2"), 0, 2 * kGiB)).node_id, "b");
  // Nothing has 2 GiB left now.
  EXPECT_EQ(set.Pick(Reserving(Unassigned("s3"), 0, 2 * kGiB)).explanation,
            "no suitable node (insufficient resources on 2 nodes)");
  // Exactly what is left still fits.
  EXPECT_EQ(set.Pick(Reserving(Unassigned("s4"), 0, 1 * kGiB)).node_id, "a");
}

TEST(SchedulerResources, FinishedTasksGiveTheirReservationBack) {
  NodeSet set({Sized("a", 1, 1 * kGiB)}, kNow);
  Task done = Reserving(Running("s1", "a"), 0, 1 * kGiB);
  done.status.state = TaskState::kFailed;
  set.AddTask(done);
  EXPECT_EQ(set.Pick(Reserving(Unassigned("s1"), 0, 1 * kGiB)).node_id, "a");
}

TEST(SchedulerResources, UnreportedResourcesAreNotChecked) {
  NodeSet set({MakeNode("a")}, kNow);  // reported no CPUs and no memory
  EXPECT_EQ(set.Pick(Reserving(Unassigned("s1"), 64000000000LL, 1LL << 50)).node_id, "a");
}

TEST(SchedulerResources, ExplanationCountsEachFailingFilterOnce) {
  NodeSet set({Sized("a", 1, kGiB), Sized("b", 1, kGiB), MakeNode("c", "down")}, kNow);
  const Decision d = set.Pick(Reserving(Unassigned("s1"), 0, 2 * kGiB));
  EXPECT_EQ(d.explanation,
            "no suitable node (insufficient resources on 2 nodes; 1 node not available for new "
            "tasks)");
}

TEST(SchedulerResources, PreassignedTaskWaitsForRoom) {
  NodeSet set({Sized("a", 1, kGiB)}, kNow);
  set.AddTask(Reserving(Running("other", "a"), 0, kGiB));
  Task global = Reserving(Unassigned("g"), 0, kGiB / 2);
  global.node_id = "a";
  global.status.state = TaskState::kPending;
  EXPECT_EQ(set.Confirm(global).explanation, "no suitable node (insufficient resources on 1 node)");
  // Eligibility for a global service ignores room: the task exists and waits.
  EXPECT_EQ(set.Eligible(global.spec), std::vector<std::string>{"a"});
}

TEST(SchedulerResources, LimitsAloneReserveNothing) {
  NodeSet set({Sized("a", 1, kGiB)}, kNow);
  Task t = Unassigned("s1");
  t.spec.resources = ResourceRequirements{ResourceLimits{0, 64 * kGiB, 0}, std::nullopt};
  EXPECT_EQ(set.Pick(t).node_id, "a");
}

// Placement.Platforms (set by the CLI from the image's registry platforms): swarmkit's
// PlatformFilter, with "x86_64"/"amd64" and "aarch64"/"arm64" the same and "" matching any.
TEST(SchedulerPlatforms, TasksGoOnlyToNodesOfAListedPlatform) {
  Node amd = MakeNode("a");  // reports x86_64, as nodes do
  Node arm = MakeNode("b");
  arm.architecture = "aarch64";
  NodeSet set({amd, arm}, kNow);
  Task t = Unassigned("s1");
  t.spec.placement.platforms = {{"arm64", "linux"}};
  EXPECT_EQ(set.Pick(t).node_id, "b");
  t.spec.placement.platforms = {{"amd64", "Linux"}};
  EXPECT_EQ(set.Pick(t).node_id, "a");
  t.spec.placement.platforms = {{"", "linux"}};
  EXPECT_FALSE(set.Pick(t).node_id.empty());
  t.spec.placement.platforms = {{"s390x", "linux"}, {"amd64", "windows"}};
  Decision none = set.Pick(t);
  EXPECT_TRUE(none.node_id.empty());
  EXPECT_EQ(none.explanation, "no suitable node (unsupported platform on 2 nodes)");
}
}  // namespace
}  // namespace capsule::scheduler
