// The NodeCA's join tokens come from the store on every call, so a rotation written by any
// manager is seen at once, and a store that cannot be read admits nobody.
#include "node/store_token_source.h"

#include <gtest/gtest.h>

#include "objects/objects.h"
#include "store/memory_store.h"
#include "store/read_modify_write.h"

namespace capsule::node {
namespace {

constexpr char kClusterId[] = "c1";

Cluster TheCluster(const std::string& worker, const std::string& manager) {
  Cluster c;
  c.id = kClusterId;
  c.worker_join_token = worker;
  c.manager_join_token = manager;
  return c;
}

TEST(StoreTokenSourceTest, AnswersTheStoredTokens) {
  store::MemoryStore store;
  ASSERT_TRUE(store
                  .Create({kClusterKind, kClusterId, ""},
                          {EncodeClusterMeta(TheCluster("SWMTKN-1-w1", "SWMTKN-1-m1")), {}})
                  .ok());
  StoreTokenSource source(store, kClusterId);
  caserver::JoinTokens t = source.CurrentTokens();
  EXPECT_EQ(t.worker, "SWMTKN-1-w1");
  EXPECT_EQ(t.manager, "SWMTKN-1-m1");
}

TEST(StoreTokenSourceTest, ARotationWrittenElsewhereIsSeenByTheVeryNextCall) {
  store::MemoryStore store;
  StatusOr<int64_t> rev =
      store.Create({kClusterKind, kClusterId, ""},
                   {EncodeClusterMeta(TheCluster("SWMTKN-1-w1", "SWMTKN-1-m1")), {}});
  ASSERT_TRUE(rev.ok());
  StoreTokenSource source(store, kClusterId);
  ASSERT_EQ(source.CurrentTokens().worker, "SWMTKN-1-w1");
  // Another manager's rotation: a plain write to the store, no read model in between.
  ASSERT_TRUE(store
                  .Update({kClusterKind, kClusterId, ""}, *rev,
                          {EncodeClusterMeta(TheCluster("SWMTKN-1-w2", "SWMTKN-1-m1")), {}})
                  .ok());
  caserver::JoinTokens t = source.CurrentTokens();
  EXPECT_EQ(t.worker, "SWMTKN-1-w2");
  EXPECT_EQ(t.manager, "SWMTKN-1-m1");
}

TEST(StoreTokenSourceTest, NoClusterObjectMeansNoTokenMatches) {
  store::MemoryStore store;
  StoreTokenSource source(store, kClusterId);
  caserver::JoinTokens t = source.CurrentTokens();
  EXPECT_TRUE(t.worker.empty());
  EXPECT_TRUE(t.manager.empty());
}

}  // namespace
}  // namespace capsule::node
