#include "agent/executor/user_spec.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>

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

// ResolveUser on another thread, bounded: a regression that blocks on a FIFO fails the test
// (the FIFO is then opened for writing, so the blocked open returns) instead of hanging it.
StatusOr<ResolvedUser> ResolveBounded(const std::string& root, const std::string& user,
                                      const std::string& fifo) {
  auto f = std::async(std::launch::async, [&] { return ResolveUser(root, user); });
  if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "ResolveUser blocked on " << fifo;
    int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (w >= 0) ::close(w);
  }
  return f.get();
}

TEST_F(UserSpecTest, FifoPasswdIsRejectedWithoutBlocking) {
  const std::string passwd = root_ + "/etc/passwd";
  ASSERT_EQ(::unlink(passwd.c_str()), 0);
  ASSERT_EQ(::mkfifo(passwd.c_str(), 0644), 0);
  auto u = ResolveBounded(root_, "app", passwd);
  EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(u.status().message(), "invalid image: etc/passwd is not a regular file");
}

TEST_F(UserSpecTest, FifoGroupIsRejectedWithoutBlocking) {
  const std::string group = root_ + "/etc/group";
  ASSERT_EQ(::unlink(group.c_str()), 0);
  ASSERT_EQ(::mkfifo(group.c_str(), 0644), 0);
  // Even root (no name to look up) reads the group file: refused the same way.
  auto u = ResolveBounded(root_, "", group);
  EXPECT_EQ(u.status().message(), "invalid image: etc/group is not a regular file");
}

TEST_F(UserSpecTest, SymlinkToAFifoInsideTheRootfsIsRejected) {
  const std::string passwd = root_ + "/etc/passwd";
  ASSERT_EQ(::mkfifo((root_ + "/etc/pipe").c_str(), 0644), 0);
  ASSERT_EQ(::unlink(passwd.c_str()), 0);
  ASSERT_EQ(::symlink("/etc/pipe", passwd.c_str()), 0);
  auto u = ResolveBounded(root_, "app", root_ + "/etc/pipe");
  EXPECT_EQ(u.status().message(), "invalid image: etc/passwd is not a regular file");
}

TEST_F(UserSpecTest, SocketPasswdIsRejected) {
  const std::string passwd = root_ + "/etc/passwd";
  ASSERT_EQ(::unlink(passwd.c_str()), 0);
  int s = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(passwd.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, passwd.c_str(), passwd.size() + 1);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(s);
  EXPECT_EQ(ResolveUser(root_, "app").status().message(),
            "invalid image: etc/passwd is not a regular file");
}

TEST_F(UserSpecTest, DeviceOrDirectoryPasswdIsRejected) {
  const std::string passwd = root_ + "/etc/passwd";
  ASSERT_EQ(::unlink(passwd.c_str()), 0);
  ASSERT_EQ(::mkdir(passwd.c_str(), 0755), 0);
  EXPECT_EQ(ResolveUser(root_, "app").status().message(),
            "invalid image: etc/passwd is not a regular file");
  ASSERT_EQ(::rmdir(passwd.c_str()), 0);
  // /dev/zero's numbers: reading it would never end. Creating it needs CAP_MKNOD.
  if (::mknod(passwd.c_str(), S_IFCHR | 0644, ::makedev(1, 5)) != 0) {
    GTEST_SKIP() << "mknod: " << std::strerror(errno);
  }
  EXPECT_EQ(ResolveUser(root_, "app").status().message(),
            "invalid image: etc/passwd is not a regular file");
}

}  // namespace
}  // namespace capsule::agent
