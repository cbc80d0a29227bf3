// Every code node.h documents for NodeApi, with swarmkit's exact message, and the two writes
// the swarm port makes (Register, SetState, SetResources).
#include <gtest/gtest.h>

#include "manager/controlapi/api_test_env.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;
using testing::Case;
using testing::RunCases;

constexpr auto kOk = StatusCode::kOk;
constexpr auto kInvalid = StatusCode::kInvalidArgument;

Node MakeNode(const std::string& id, const std::string& role, const std::string& state) {
  Node n;
  n.id = id;
  n.hostname = "host-" + id;
  n.role = role;
  n.state = state;
  return n;
}

NodeSpecUpdate Spec(const std::string& role, const std::string& availability) {
  NodeSpecUpdate spec;
  spec.role = role;
  spec.availability = availability;
  return spec;
}

Status UpdateWorker(ApiTestEnv& env, const NodeSpecUpdate& spec) {
  const int64_t v = env.PutNode(MakeNode("n1", "worker", "ready"));
  return env.nodes.Update("n1", v, spec);
}

TEST(NodeCodes, Update) {
  RunCases({
      {"drain", [](ApiTestEnv& env) { return UpdateWorker(env, Spec("worker", "drain")); }, kOk,
       ""},
      {"role and availability left out",
       [](ApiTestEnv& env) { return UpdateWorker(env, Spec("", "")); }, kOk, ""},
      {"an unknown availability",
       [](ApiTestEnv& env) { return UpdateWorker(env, Spec("worker", "x")); }, kInvalid,
       "invalid Availability: \"x\""},
      {"an unknown role", [](ApiTestEnv& env) { return UpdateWorker(env, Spec("boss", "")); },
       kInvalid, "invalid Role: \"boss\""},
      {"a promotion (asynchronous: only the desired role is written)",
       [](ApiTestEnv& env) { return UpdateWorker(env, Spec("manager", "")); }, kOk, ""},
      {"a missing node",
       [](ApiTestEnv& env) { return env.nodes.Update("nope", 1, Spec("", "drain")); },
       StatusCode::kNotFound, "node nope not found"},
      {"a stale version",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutNode(MakeNode("n1", "worker", "ready"));
         EXPECT_TRUE(env.nodes.Update("n1", v, Spec("", "pause")).ok());
         return env.nodes.Update("n1", v, Spec("", "drain"));
       },
       StatusCode::kUnknown, "update out of sequence"},
  });
}

// Managers m1 (serving the calls), m2, m3 as nodes and store members; `reachable` says which
// of m2, m3 are reachable. → the version of `target`.
int64_t ThreeManagers(ApiTestEnv& env, bool m2_reachable, bool m3_reachable,
                      const std::string& target) {
  int64_t version = 0;
  for (const std::string id : {"m1", "m2", "m3"}) {
    const int64_t v = env.PutNode(MakeNode(id, "manager", "ready"));
    if (id == target) version = v;
  }
  env.members = {{"m1", true}, {"m2", m2_reachable}, {"m3", m3_reachable}};
  return version;
}

TEST(NodeCodes, DemotionGuards) {
  constexpr auto kPrecondition = StatusCode::kFailedPrecondition;
  RunCases({
      {"the last manager",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutNode(MakeNode("m1", "manager", "ready"));
         env.members = {{"m1", true}};
         return env.nodes.Update("m1", v, Spec("worker", ""));
       },
       kPrecondition, "attempting to demote the last manager of the swarm"},
      {"a manager without a store member",
       [](ApiTestEnv& env) {
         const int64_t v = ThreeManagers(env, true, true, "m3");
         env.members = {{"m1", true}, {"m2", true}};
         return env.nodes.Update("m3", v, Spec("worker", ""));
       },
       StatusCode::kNotFound, "can't find manager in raft memberlist"},
      {"a reachable manager while another is unreachable (2 of 3 would be left, 1 reachable)",
       [](ApiTestEnv& env) {
         const int64_t v = ThreeManagers(env, true, false, "m2");
         return env.nodes.Update("m2", v, Spec("worker", ""));
       },
       kPrecondition, "can't remove member from the raft: this would result in a loss of quorum"},
      {"the unreachable manager itself (the other two are reachable): past the guards",
       [](ApiTestEnv& env) {
         const int64_t v = ThreeManagers(env, true, false, "m3");
         return env.nodes.Update("m3", v, Spec("worker", ""));
       },
       kOk, ""},
      {"a manager of three, all reachable: past the guards",
       [](ApiTestEnv& env) {
         const int64_t v = ThreeManagers(env, true, true, "m2");
         return env.nodes.Update("m2", v, Spec("worker", ""));
       },
       kOk, ""},
      {"the manager serving the call (counts itself reachable)",
       [](ApiTestEnv& env) {
         const int64_t v = ThreeManagers(env, true, true, "m1");
         return env.nodes.Update("m1", v, Spec("worker", ""));
       },
       kOk, ""},
      {"no role change on the last manager: no guard",
       [](ApiTestEnv& env) {
         const int64_t v = env.PutNode(MakeNode("m1", "manager", "ready"));
         env.members = {{"m1", true}};
         return env.nodes.Update("m1", v, Spec("manager", "drain"));
       },
       kOk, ""},
  });
}

TEST(NodeUpdate, RoleChangeWritesTheDesiredRoleOnly) {
  ApiTestEnv env;
  const int64_t v = env.PutNode(MakeNode("n1", "worker", "ready"));
  ASSERT_TRUE(env.nodes.Update("n1", v, Spec("manager", "")).ok());
  StatusOr<store::StoredRecord> rec = env.store.Get(kNodesKind, "n1");
  ASSERT_TRUE(rec.ok());
  StatusOr<Node> n = DecodeNodeMeta(rec->record.meta);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->desired_role, "manager");
  EXPECT_EQ(n->role, "worker");  // the reconciler's to change
  EXPECT_EQ(NodeJson(*n, 1)["Spec"]["Role"], "manager");
  EXPECT_FALSE(NodeJson(*n, 1).contains("ManagerStatus"));
}

TEST(NodeCodes, Remove) {
  RunCases({
      {"a down worker",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("n1", "worker", "down"));
         return env.nodes.Remove("n1", false);
       },
       kOk, ""},
      {"a ready worker, forced",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("n1", "worker", "ready"));
         return env.nodes.Remove("n1", true);
       },
       kOk, ""},
      {"a missing node", [](ApiTestEnv& env) { return env.nodes.Remove("nope", true); },
       StatusCode::kNotFound, "node nope not found"},
      {"a manager",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("n1", "manager", "down"));
         return env.nodes.Remove("n1", true);
       },
       StatusCode::kFailedPrecondition,
       "node n1 is a cluster manager and is a member of the raft cluster. It must be demoted to "
       "worker before removal"},
      {"a ready worker",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("n1", "worker", "ready"));
         return env.nodes.Remove("n1", false);
       },
       StatusCode::kFailedPrecondition, "node n1 is not down and can't be removed"},
  });
}

// After `swarm init --force-new-cluster` on m1, m2 is still a manager node but no longer a
// store member: it may be removed like a worker (swarmkit refuses only Raft members).
TEST(NodeCodes, RemoveOfAManagerWhoseStoreMemberIsGone) {
  RunCases({
      {"down, not forced",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("m1", "manager", "ready"));
         env.PutNode(MakeNode("m2", "manager", "down"));
         env.members = {{"m1", true}};
         return env.nodes.Remove("m2", false);
       },
       kOk, ""},
      {"ready, not forced",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("m1", "manager", "ready"));
         env.PutNode(MakeNode("m2", "manager", "ready"));
         env.members = {{"m1", true}};
         return env.nodes.Remove("m2", false);
       },
       StatusCode::kFailedPrecondition, "node m2 is not down and can't be removed"},
      {"still a member",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("m1", "manager", "ready"));
         env.PutNode(MakeNode("m2", "manager", "down"));
         env.members = {{"m1", true}, {"m2", false}};
         return env.nodes.Remove("m2", true);
       },
       StatusCode::kFailedPrecondition,
       "node m2 is a cluster manager and is a member of the raft cluster. It must be demoted to "
       "worker before removal"},
  });
}

TEST(NodeCodes, RemoveTellsTheCallbackOnceTheReadModelHasIt) {
  ApiTestEnv env;
  env.PutNode(MakeNode("n1", "worker", "down"));
  std::string removed;
  NodeApi nodes(env.store, env.reads, env.clock, [&](const std::string& id) {
    EXPECT_EQ(env.reads.NodeById(id), nullptr);
    removed = id;
  });
  ASSERT_TRUE(nodes.Remove("n1", false).ok());
  EXPECT_EQ(removed, "n1");
}

TEST(NodeCodes, RegisterIsVisibleToReadsOnReturn) {
  ApiTestEnv env;
  ASSERT_TRUE(env.nodes.Register(MakeNode("n1", "worker", "ready")).ok());
  ASSERT_NE(env.reads.NodeById("n1"), nullptr);
  EXPECT_EQ(env.reads.NodeById("n1")->object.hostname, "host-n1");
  EXPECT_EQ(env.nodes.Register(MakeNode("n1", "worker", "ready")).code(),
            StatusCode::kAlreadyExists);
}

TEST(NodeCodes, SetStateWritesOnlyAChange) {
  ApiTestEnv env;
  const int64_t v = env.PutNode(MakeNode("n1", "worker", "ready"));
  ASSERT_TRUE(env.nodes.SetState("n1", "ready").ok());
  EXPECT_EQ(env.store.Get(kNodesKind, "n1")->mod_revision, v);
  ASSERT_TRUE(env.nodes.SetState("n1", "down").ok());
  StatusOr<store::StoredRecord> got = env.store.Get(kNodesKind, "n1");
  ASSERT_TRUE(got.ok());
  EXPECT_GT(got->mod_revision, v);
  EXPECT_EQ(DecodeNodeMeta(got->record.meta)->state, "down");
}

TEST(NodeCodes, SetStateOfARemovedNodeIsIgnored) {
  ApiTestEnv env;
  EXPECT_TRUE(env.nodes.SetState("gone", "down").ok());
  EXPECT_EQ(env.store.LastWrittenRevision(), 0);
}

TEST(NodeCodes, SetResourcesWritesOnlyAChange) {
  ApiTestEnv env;
  const int64_t v = env.PutNode(MakeNode("n1", "worker", "ready"));
  ASSERT_TRUE(env.nodes.SetResources("n1", 2'000'000'000, int64_t{8} << 30).ok());
  StatusOr<store::StoredRecord> got = env.store.Get(kNodesKind, "n1");
  ASSERT_TRUE(got.ok());
  const int64_t written = got->mod_revision;
  EXPECT_GT(written, v);
  StatusOr<Node> n = DecodeNodeMeta(got->record.meta);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->nano_cpus, 2'000'000'000);
  EXPECT_EQ(n->memory_bytes, int64_t{8} << 30);
  EXPECT_EQ(n->state, "ready");  // the rest of the node is kept
  EXPECT_EQ(n->hostname, "host-n1");

  // The same figures again (a reconnect, a restart): no write.
  ASSERT_TRUE(env.nodes.SetResources("n1", 2'000'000'000, int64_t{8} << 30).ok());
  EXPECT_EQ(env.store.Get(kNodesKind, "n1")->mod_revision, written);

  // One figure changed: written.
  ASSERT_TRUE(env.nodes.SetResources("n1", 4'000'000'000, int64_t{8} << 30).ok());
  got = env.store.Get(kNodesKind, "n1");
  ASSERT_TRUE(got.ok());
  EXPECT_GT(got->mod_revision, written);
  EXPECT_EQ(DecodeNodeMeta(got->record.meta)->nano_cpus, 4'000'000'000);
}

TEST(NodeCodes, SetResources) {
  RunCases({
      {"a negative cpu figure",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("n1", "worker", "ready"));
         return env.nodes.SetResources("n1", -1, 0);
       },
       kInvalid, "invalid node resources"},
      {"a negative memory figure",
       [](ApiTestEnv& env) {
         env.PutNode(MakeNode("n1", "worker", "ready"));
         return env.nodes.SetResources("n1", 0, -1);
       },
       kInvalid, "invalid node resources"},
      {"a removed node", [](ApiTestEnv& env) { return env.nodes.SetResources("gone", 1, 1); }, kOk,
       ""},
  });
}

TEST(NodeCodes, SetResourcesRefusedWritesNothing) {
  ApiTestEnv env;
  const int64_t v = env.PutNode(MakeNode("n1", "worker", "ready"));
  EXPECT_FALSE(env.nodes.SetResources("n1", -5, 1).ok());
  EXPECT_EQ(env.store.LastWrittenRevision(), v);
}

}  // namespace
}  // namespace capsule::controlapi
