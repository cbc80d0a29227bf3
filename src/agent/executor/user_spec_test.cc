#include "agent/executor/user_spec.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "agent/executor/fs_util.h"

namespace capsule::agent {
namespace {

class UserSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-user-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_EQ(::mkdir((root_ + "/etc").c_str(), 0755), 0);
    std::ofstream(root_ + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                         << "# comment\n"
                                         << "app:x:2000:3000::/home/app:/bin/sh\n";
    std::ofstream(root_ + "/etc/group") << "root:x:0:\napp:x:3000:\nextra:x:4000:app,other\n"
                                        << "more:x:5000:other\n";
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(root_).ok()); }
  std::string root_;
};

TEST_F(UserSpecTest, EmptyIsRoot) {
  auto u = ResolveUser(root_, "");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 0u);
  EXPECT_EQ(u->gid, 0u);
}

TEST_F(UserSpecTest, NameGivesUidGidAndSupplementaryGroups) {
  auto u = ResolveUser(root_, "app");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 2000u);
  EXPECT_EQ(u->gid, 3000u);
  EXPECT_EQ(u->additional_gids, std::vector<uint32_t>{4000});
}

TEST_F(UserSpecTest, NumericUidFoundInPasswdTakesItsGid) {
  auto u = ResolveUser(root_, "2000");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->gid, 3000u);
}

TEST_F(UserSpecTest, NumericUidNotInPasswdHasGidZero) {
  auto u = ResolveUser(root_, "1234");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 1234u);
  EXPECT_EQ(u->gid, 0u);
  EXPECT_TRUE(u->additional_gids.empty());
}

TEST_F(UserSpecTest, ExplicitGroupByNumberOrName) {
  auto a = ResolveUser(root_, "1234:77");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->uid, 1234u);
  EXPECT_EQ(a->gid, 77u);
  auto b = ResolveUser(root_, "app:more");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->gid, 5000u);
}

TEST_F(UserSpecTest, UnknownNamesAreInvalid) {
  auto a = ResolveUser(root_, "nobody");
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(a.status().message(), "unable to find user nobody: no matching entries in passwd file");
  auto b = ResolveUser(root_, "app:nogroup");
  EXPECT_EQ(b.status().message(),
            "unable to find group nogroup: no matching entries in group file");
  EXPECT_EQ(ResolveUser(root_, "app:").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(UserSpecTest, SymlinkedPasswdResolvesInsideTheRootfs) {
  // An image whose /etc/passwd points at an absolute path must read the rootfs' file of that
  // name, never the host's.
  ASSERT_EQ(::mkdir((root_ + "/host").c_str(), 0755), 0);
  std::ofstream(root_ + "/host/passwd") << "inside:x:42:42::/:/bin/sh\n";
  ASSERT_EQ(::unlink((root_ + "/etc/passwd").c_str()), 0);
  ASSERT_EQ(::symlink("/host/passwd", (root_ + "/etc/passwd").c_str()), 0);
  auto u = ResolveUser(root_, "inside");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 42u);
  // A relative link climbing out of the rootfs stays inside it too.
  const std::string outside = root_ + "-outside";
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  std::ofstream(outside + "/passwd") << "escaped:x:43:43::/:/bin/sh\n";
  ASSERT_EQ(::unlink((root_ + "/etc/passwd").c_str()), 0);
  const std::string name = outside.substr(outside.rfind('/') + 1);
  ASSERT_EQ(::symlink(("../../../../" + name + "/passwd").c_str(), (root_ + "/etc/passwd").c_str()),
            0);
  EXPECT_EQ(ResolveUser(root_, "escaped").status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(RemoveTree(outside).ok());
}

}  // namespace
}  // namespace capsule::agent
