#include "ca/manager_check.h"

#include <gtest/gtest.h>

namespace capsule::ca {
namespace {

constexpr ManagerCall kOnly = ManagerCall::kManagersOnly;
constexpr ManagerCall kStep = ManagerCall::kPromotionStep;

TEST(CheckStoreManagerTest, ManagerPassesEveryManagerCall) {
  EXPECT_TRUE(CheckStoreManager("n1", StoreRoles{"manager", ""}, kOnly).ok());
  EXPECT_TRUE(CheckStoreManager("n1", StoreRoles{"manager", ""}, kStep).ok());
  EXPECT_TRUE(CheckStoreManager("n1", StoreRoles{"manager", "manager"}, kOnly).ok());
}

TEST(CheckStoreManagerTest, MissingNodeIsRefusedAsRemoved) {
  Status s = CheckStoreManager("n1", std::nullopt, kOnly);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "node n1 was removed from the swarm");
  EXPECT_EQ(CheckStoreManager("n1", std::nullopt, kStep).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CheckStoreManagerTest, DemotedWorkerIsRefused) {
  for (ManagerCall call : {kOnly, kStep}) {
    Status s = CheckStoreManager("n1", StoreRoles{"worker", ""}, call);
    EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(s.message(), "node n1 is not a manager");
  }
}

TEST(CheckStoreManagerTest, PendingDemotionIsRefused) {
  for (ManagerCall call : {kOnly, kStep}) {
    EXPECT_EQ(CheckStoreManager("n1", StoreRoles{"manager", "worker"}, call).code(),
              absl::StatusCode::kPermissionDenied);
  }
}

TEST(CheckStoreManagerTest, PendingPromotionPassesOnlyPromotionSteps) {
  EXPECT_TRUE(CheckStoreManager("n1", StoreRoles{"worker", "manager"}, kStep).ok());
  EXPECT_EQ(CheckStoreManager("n1", StoreRoles{"worker", "manager"}, kOnly).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(CheckStoreManagerTest, UnknownRoleIsRefused) {
  EXPECT_EQ(CheckStoreManager("n1", StoreRoles{"", ""}, kOnly).code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace capsule::ca
