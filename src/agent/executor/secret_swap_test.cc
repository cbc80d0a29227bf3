// The refresh layout (MountSecrets with refresh_layout) and the atomic swap (secret_swap.h) on
// a real tmpfs (unit tests run as root): a reader in a tight loop through a read-only bind of
// the directory — as the task sees it — only ever reads a complete old or new value; the
// bind stays read-only during the swap; the tmpfs is read-only again after it; a descriptor
// held on the old file reads nothing once the grace passed; an identical value is not swapped.
#include "agent/executor/secret_swap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "agent/executor/fs_util.h"
#include "agent/executor/secret_mount.h"

namespace capsule::agent {
namespace {

using std::chrono::milliseconds;

SecretFile Ref(const std::string& id, const std::string& target, const SecretBytes* data,
               uint32_t mode = 0444) {
  SecretFile f;
  f.secret_id = id;
  f.target = target;
  f.uid = 0;
  f.gid = 0;
  f.mode = mode;
  f.data = data;
  return f;
}

std::string MountOptions(const std::string& dir) {
  std::ifstream in("/proc/self/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string src, target, type, opts;
    f >> src >> target >> type >> opts;
    if (target == dir) return opts;
  }
  return "";
}

std::string ReadWhole(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<open failed>";
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

class SecretSwapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-swap-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    dir_ = base_ + "/task1";
    view_ = base_ + "/view";  // the task's /run/secrets
  }
  void TearDown() override {
    if (bound_) ::umount2(view_.c_str(), MNT_DETACH);
    EXPECT_TRUE(UnmountSecrets(dir_).ok());
    EXPECT_TRUE(RemoveTree(base_).ok());
  }
  // Binds the refresh directory read-only at view_, as runc does for the task.
  void BindView() {
    ASSERT_EQ(::mkdir(view_.c_str(), 0755), 0);
    const std::string src = dir_ + "/" + kRefreshDir;
    ASSERT_EQ(::mount(src.c_str(), view_.c_str(), nullptr, MS_BIND, nullptr), 0);
    bound_ = true;
    ASSERT_EQ(::mount(nullptr, view_.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr),
              0);
  }

  std::string base_, dir_, view_;
  bool bound_ = false;
};

TEST_F(SecretSwapTest, RefreshLayoutBindsOneDirectoryAtRunSecrets) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("alpha"));
  SecretBytes b = SecretBytes::CopyFrom(std::string_view("beta"));
  SecretBytes c = SecretBytes::CopyFrom(std::string_view("gamma"));
  auto binds = MountSecrets(
      dir_, {Ref("a1", "pw", &a, 0400), Ref("b2", "/etc/app/key", &b), Ref("c3", "sub/f", &c)},
      /*refresh_layout=*/true);
  ASSERT_TRUE(binds.ok()) << binds.status();
  ASSERT_EQ(binds->size(), 2u);
  EXPECT_EQ((*binds)[0].source, dir_ + "/run-secrets");
  EXPECT_EQ((*binds)[0].destination, "/run/secrets");
  EXPECT_EQ((*binds)[1].source, dir_ + "/b2");
  EXPECT_EQ((*binds)[1].destination, "/etc/app/key");
  EXPECT_EQ(*ReadFile(dir_ + "/run-secrets/pw"), "alpha");
  EXPECT_EQ(*ReadFile(dir_ + "/run-secrets/sub/f"), "gamma");
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/run-secrets").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((dir_ + "/run-secrets/pw").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(MountOptions(dir_).rfind("ro,", 0), 0u) << MountOptions(dir_);
}

TEST_F(SecretSwapTest, AReaderInATightLoopSeesOnlyCompleteOldOrNewValues) {
  // Values of different lengths: a torn read would show as a length or content mismatch.
  std::vector<SecretBytes> values;
  std::set<std::string> expected;
  for (int i = 0; i < 6; ++i) {
    std::string v(1000 + 3000 * i, static_cast<char>('a' + i));
    expected.insert(v);
    values.push_back(SecretBytes::CopyFrom(std::string_view(v)));
  }
  ASSERT_TRUE(MountSecrets(dir_, {Ref("pw1", "pw", &values[0])}, true).ok());
  BindView();

  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, bad{0}, bad_size{-1};
  std::thread reader([&] {
    while (!stop.load()) {
      std::string got = ReadWhole(view_ + "/pw");
      if (expected.count(got) == 0) {
        bad.fetch_add(1);
        bad_size = static_cast<long>(got.size());
      }
      reads.fetch_add(1);
    }
  });
  int signals = 0;
  constexpr int kRounds = 20;
  for (int round = 1; round <= kRounds; ++round) {
    const SecretBytes& next = values[round % values.size()];
    StatusOr<bool> swapped = SwapSecretFile(
        dir_, Ref("pw1", "pw", &next),
        [&] {
          ++signals;
          // The task's view stays read-only while the tmpfs is writable for the swap.
          std::ofstream probe(view_ + "/intruder");
          EXPECT_FALSE(probe.good());
        },
        milliseconds(250));  // a reader that opened the old file finishes with it
    ASSERT_TRUE(swapped.ok()) << swapped.status();
    EXPECT_TRUE(*swapped);
    EXPECT_EQ(ReadWhole(view_ + "/pw"), std::string(next.view()));
    EXPECT_EQ(MountOptions(dir_).rfind("ro,", 0), 0u) << MountOptions(dir_);
  }
  stop = true;
  reader.join();
  EXPECT_EQ(signals, kRounds);
  EXPECT_EQ(bad.load(), 0) << "of " << reads.load() << " reads; a bad one had " << bad_size.load()
                           << " bytes";
  EXPECT_GT(reads.load(), 100);
  struct stat st;
  EXPECT_NE(::lstat((dir_ + "/.swap").c_str(), &st), 0);  // no temporary file left
}

TEST_F(SecretSwapTest, AnOldDescriptorReadsNothingOnceTheGracePassed) {
  SecretBytes v1 = SecretBytes::CopyFrom(std::string_view("version-one-value"));
  SecretBytes v2 = SecretBytes::CopyFrom(std::string_view("version-two"));
  ASSERT_TRUE(MountSecrets(dir_, {Ref("pw1", "pw", &v1)}, true).ok());
  BindView();
  int held = ::open((view_ + "/pw").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(held, 0);
  StatusOr<bool> swapped = SwapSecretFile(dir_, Ref("pw1", "pw", &v2), nullptr, milliseconds(1));
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  char buf[64];
  EXPECT_EQ(::pread(held, buf, sizeof(buf), 0), 0);  // wiped and truncated
  struct stat st;
  ASSERT_EQ(::fstat(held, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  // Read-only again although the held old inode keeps the superblock from it.
  EXPECT_EQ(MountOptions(dir_).rfind("ro,", 0), 0u) << MountOptions(dir_);
  ::close(held);
  EXPECT_EQ(ReadWhole(view_ + "/pw"), "version-two");
}

TEST_F(SecretSwapTest, TheSameValueIsNotSwappedNorSignalled) {
  SecretBytes v1 = SecretBytes::CopyFrom(std::string_view("same"));
  SecretBytes again = SecretBytes::CopyFrom(std::string_view("same"));
  ASSERT_TRUE(MountSecrets(dir_, {Ref("pw1", "pw", &v1, 0440)}, true).ok());
  bool called = false;
  StatusOr<bool> r = SwapSecretFile(
      dir_, Ref("pw1", "pw", &again, 0440), [&] { called = true; }, milliseconds(0));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(*r);
  EXPECT_FALSE(called);
  // A new mode alone is a change.
  r = SwapSecretFile(
      dir_, Ref("pw1", "pw", &again, 0400), [&] { called = true; }, milliseconds(0));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(*r);
  EXPECT_TRUE(called);
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/run-secrets/pw").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
}

TEST_F(SecretSwapTest, RefusesTargetsOutsideRunSecretsAndTheDockerLayout) {
  SecretBytes v = SecretBytes::CopyFrom(std::string_view("v"));
  ASSERT_TRUE(MountSecrets(dir_, {Ref("pw1", "pw", &v), Ref("k1", "/etc/k", &v)}).ok());
  EXPECT_EQ(SwapSecretFile(dir_, Ref("k1", "/etc/k", &v), nullptr, milliseconds(0)).status().code(),
            absl::StatusCode::kInvalidArgument);
  SecretBytes w = SecretBytes::CopyFrom(std::string_view("w"));
  EXPECT_EQ(SwapSecretFile(dir_, Ref("pw1", "pw", &w), nullptr, milliseconds(0)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*ReadFile(dir_ + "/pw1"), "v");
}

}  // namespace
}  // namespace capsule::agent
