#include "agent/executor/fs_util.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace capsule::agent {
namespace {

TEST(FsUtilTest, RemoveTreeStopsAtMountPoints) {
  char tmpl[] = "/tmp/capsule-fs-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  ASSERT_TRUE(MakeDir(root + "/a", 0700).ok());
  ASSERT_TRUE(MakeDir(root + "/a/m", 0700).ok());
  std::ofstream(root + "/a/file") << "x";
  ASSERT_EQ(::mount("tmpfs", (root + "/a/m").c_str(), "tmpfs", 0, "size=64k"), 0);
  std::ofstream(root + "/a/m/keep") << "y";
  EXPECT_TRUE(IsMountPoint(root + "/a/m"));
  EXPECT_FALSE(IsMountPoint(root + "/a"));
  Status st = RemoveTree(root);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_EQ(::access((root + "/a/m/keep").c_str(), F_OK), 0);  // the mount was not entered
  ASSERT_EQ(::umount((root + "/a/m").c_str()), 0);
  EXPECT_TRUE(RemoveTree(root).ok());
  EXPECT_NE(::access(root.c_str(), F_OK), 0);
  EXPECT_TRUE(RemoveTree(root).ok());
}

TEST(FsUtilTest, WriteFileAtomicAndMakeDirModes) {
  char tmpl[] = "/tmp/capsule-fs-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  ASSERT_TRUE(WriteFileAtomic(root + "/f", "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(root + "/f", "two", 0600).ok());
  EXPECT_EQ(*ReadFile(root + "/f"), "two");
  struct stat st;
  ASSERT_EQ(::stat((root + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(MakeDir(root + "/d", 0711, true).code(), absl::StatusCode::kOk);
  EXPECT_EQ(MakeDir(root + "/d", 0711, true).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_EQ(::stat((root + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0711u);
  EXPECT_EQ(ReadFile(root + "/missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(RemoveTree(root).ok());
}

}  // namespace
}  // namespace capsule::agent
