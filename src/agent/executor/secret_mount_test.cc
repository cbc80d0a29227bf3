#include "agent/executor/secret_mount.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "agent/executor/fs_util.h"

namespace capsule::agent {
namespace {

SecretFile Ref(const std::string& id, const std::string& target, const SecretBytes* data,
               uint32_t uid = 0, uint32_t gid = 0, uint32_t mode = 0444) {
  SecretFile f;
  f.secret_id = id;
  f.target = target;
  f.uid = uid;
  f.gid = gid;
  f.mode = mode;
  f.data = data;
  return f;
}

std::string MountLine(const std::string& dir) {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string src, target;
    f >> src >> target;
    if (target == dir) return line;
  }
  return "";
}

TEST(SecretDestinationsTest, RelativeUnderRunSecretsAbsoluteAsGiven) {
  SecretBytes d = SecretBytes::CopyFrom(std::string_view("x"));
  auto dests = SecretDestinations(
      {Ref("a1", "password", &d), Ref("b2", "/etc/app/key", &d), Ref("c3", "sub/dir/f", &d)});
  ASSERT_TRUE(dests.ok()) << dests.status();
  EXPECT_EQ(*dests, (std::vector<std::string>{"/run/secrets/password", "/etc/app/key",
                                              "/run/secrets/sub/dir/f"}));
}

TEST(SecretDestinationsTest, BadTargetsAreInvalidArgument) {
  SecretBytes d = SecretBytes::CopyFrom(std::string_view("x"));
  for (const std::string& target :
       {std::string(""), std::string("../escape"), std::string("a/../b"), std::string("a//b"),
        std::string("a/"), std::string("/"), std::string("./a"), std::string("/etc/.."),
        std::string("a\0b", 3)}) {
    auto r = SecretDestinations({Ref("a1", target, &d)});
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << target;
  }
  auto dup = SecretDestinations({Ref("a1", "x", &d), Ref("b2", "/run/secrets/x", &d)});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SecretDestinations({Ref("../a", "x", &d)}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

class SecretMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-secrets-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    dir_ = base_ + "/task1";
  }
  void TearDown() override {
    EXPECT_TRUE(UnmountSecrets(dir_).ok());
    EXPECT_TRUE(RemoveTree(base_).ok());
  }
  std::string base_, dir_;
};

TEST_F(SecretMountTest, FilesOwnedAndModedOnReadOnlyTmpfs) {
  SecretBytes pw = SecretBytes::CopyFrom(std::string_view("s3cr3t"));
  SecretBytes other = SecretBytes::CopyFrom(std::string_view("other"));
  auto binds =
      MountSecrets(dir_, {Ref("pwid", "password", &pw, 2000, 3000, 0400),
                          Ref("otherid", "/etc/x", &other), Ref("pwid", "again", &pw, 0, 0, 0440)});
  ASSERT_TRUE(binds.ok()) << binds.status();
  ASSERT_EQ(binds->size(), 3u);
  EXPECT_EQ((*binds)[0].source, dir_ + "/pwid");
  EXPECT_EQ((*binds)[0].destination, "/run/secrets/password");
  EXPECT_EQ((*binds)[1].source, dir_ + "/otherid");
  EXPECT_EQ((*binds)[2].source, dir_ + "/pwid.1");

  struct stat st;
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((dir_ + "/pwid").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 2000u);
  EXPECT_EQ(st.st_gid, 3000u);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
  ASSERT_EQ(::stat((dir_ + "/pwid.1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0440u);
  EXPECT_EQ(*ReadFile(dir_ + "/pwid"), "s3cr3t");
  EXPECT_EQ(*ReadFile(dir_ + "/otherid"), "other");

  const std::string line = MountLine(dir_);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.rfind("tmpfs " + dir_ + " tmpfs ro,nosuid,nodev,noexec", 0), 0u) << line;
  EXPECT_NE(line.find("mode=700"), std::string::npos) << line;
  // Read-only: even root cannot add a file.
  std::ofstream probe(dir_ + "/new");
  EXPECT_FALSE(probe.good());

  ASSERT_TRUE(UnmountSecrets(dir_).ok());
  EXPECT_TRUE(MountLine(dir_).empty());
  EXPECT_NE(::access(dir_.c_str(), F_OK), 0);
  EXPECT_TRUE(UnmountSecrets(dir_).ok());  // idempotent
}

TEST_F(SecretMountTest, TmpfsSizedToItsSecrets) {
  SecretBytes big(500 * 1000);
  auto binds = MountSecrets(dir_, {Ref("big", "big", &big)});
  ASSERT_TRUE(binds.ok()) << binds.status();
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(dir_.c_str(), &vfs), 0);
  const uint64_t total = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  EXPECT_GE(total, 500u * 1000u);
  EXPECT_LE(total, 600u * 1024u);
}

TEST_F(SecretMountTest, BadTargetLeavesNothing) {
  SecretBytes d = SecretBytes::CopyFrom(std::string_view("x"));
  auto binds = MountSecrets(dir_, {Ref("a1", "ok", &d), Ref("b2", "../bad", &d)});
  EXPECT_EQ(binds.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(MountLine(dir_).empty());
  EXPECT_NE(::access(dir_.c_str(), F_OK), 0);
}

TEST_F(SecretMountTest, BusyMountIsDetached) {
  SecretBytes d = SecretBytes::CopyFrom(std::string_view("x"));
  ASSERT_TRUE(MountSecrets(dir_, {Ref("a1", "ok", &d)}).ok());
  ASSERT_EQ(::chdir(dir_.c_str()), 0);  // keeps the mount busy
  EXPECT_TRUE(UnmountSecrets(dir_).ok());
  ASSERT_EQ(::chdir("/"), 0);
  EXPECT_TRUE(MountLine(dir_).empty());
}

}  // namespace
}  // namespace capsule::agent
