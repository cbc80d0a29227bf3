#include "node/data_root_lock.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace capsule::node {
namespace {

class DataRootLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-lock-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(DataRootLockTest, ASecondHolderIsRefusedWithTheFirstsPid) {
  StatusOr<UniqueFd> first = LockDataRoot(root_);
  ASSERT_TRUE(first.ok()) << first.status();
  std::ifstream f(root_ + "/capsuled.lock");
  std::string pid;
  f >> pid;
  EXPECT_EQ(pid, std::to_string(::getpid()));
  // flock locks belong to the open file: a second open in this process conflicts as a second
  // process would.
  StatusOr<UniqueFd> second = LockDataRoot(root_);
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            "data root " + root_ + " is in use by another capsuled (pid " + pid + "): " + root_ +
                "/capsuled.lock is locked; stop that daemon first, or use another --data-root");
}

TEST_F(DataRootLockTest, TheLockGoesWithItsHolder) {
  {
    StatusOr<UniqueFd> first = LockDataRoot(root_);
    ASSERT_TRUE(first.ok()) << first.status();
  }
  EXPECT_TRUE(LockDataRoot(root_).ok());
}

TEST_F(DataRootLockTest, AMissingDataRootIsAnError) {
  EXPECT_EQ(LockDataRoot(root_ + "/missing").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace capsule::node
