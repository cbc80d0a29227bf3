// Every code cluster.h documents for ClusterApi, with its exact message.
#include <gtest/gtest.h>

#include "manager/controlapi/api_test_env.h"

namespace capsule::controlapi {
namespace {

using testing::ApiTestEnv;
using testing::Case;
using testing::RunCases;

constexpr auto kInvalid = StatusCode::kInvalidArgument;

int64_t PutCluster(ApiTestEnv& env) {
  Cluster c;
  c.id = "c1";
  c.worker_join_token = "worker-token";
  c.manager_join_token = "manager-token";
  return env.PutCluster(c);
}

Status UpdateSpec(ApiTestEnv& env, const std::function<void(ClusterSpec&)>& change) {
  const int64_t v = PutCluster(env);
  ClusterUpdate update;
  change(update.spec);
  return env.cluster.Update(v, update);
}

TEST(ClusterCodes, Update) {
  RunCases({
      {"a valid spec", [](ApiTestEnv& env) { return UpdateSpec(env, [](ClusterSpec&) {}); },
       StatusCode::kOk, ""},
      {"a negative heartbeat period",
       [](ApiTestEnv& env) {
         return UpdateSpec(env, [](ClusterSpec& s) { s.heartbeat_period_ns = -1; });
       },
       kInvalid, "invalid cluster spec: negative value"},
      {"a negative task history limit",
       [](ApiTestEnv& env) {
         return UpdateSpec(env, [](ClusterSpec& s) { s.task_history_retention_limit = -1; });
       },
       kInvalid, "invalid cluster spec: negative value"},
      {"a negative certificate expiry",
       [](ApiTestEnv& env) {
         return UpdateSpec(env, [](ClusterSpec& s) { s.node_cert_expiry_ns = -1; });
       },
       kInvalid, "invalid cluster spec: negative value"},
      {"no cluster", [](ApiTestEnv& env) { return env.cluster.Update(1, ClusterUpdate{}); },
       StatusCode::kNotFound, "cluster not found"},
      {"a stale version",
       [](ApiTestEnv& env) {
         const int64_t v = PutCluster(env);
         EXPECT_TRUE(env.cluster.Update(v, ClusterUpdate{}).ok());
         return env.cluster.Update(v, ClusterUpdate{});
       },
       StatusCode::kUnknown, "update out of sequence"},
  });
}

TEST(ClusterCodes, RotationReplacesOnlyTheTokenAskedFor) {
  ApiTestEnv env;
  const int64_t v = PutCluster(env);
  ClusterUpdate update;
  update.spec.name = "";  // → "default"
  update.rotate_worker_token = true;
  ASSERT_TRUE(env.cluster.Update(v, update).ok());
  // The read model has the write when Update returns (the CA reads tokens from it).
  store::ClusterEntry c = env.reads.GetCluster();
  ASSERT_NE(c, nullptr);
  EXPECT_GT(c->mod_revision, v);
  EXPECT_NE(c->object.worker_join_token, "worker-token");
  EXPECT_EQ(c->object.manager_join_token, "manager-token");
  EXPECT_EQ(c->object.spec.name, "default");
}

}  // namespace
}  // namespace capsule::controlapi
