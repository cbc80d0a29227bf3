// Tar reader and layer application: crafted archives, hostile ones included.
#include "agent/images/tar_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/images/apply_layer.h"
#include "agent/images/rootfs_fs.h"
#include "agent/images/tar_test_util.h"

namespace capsule::agent {
namespace {

namespace fs = std::filesystem;
using testing::Source;
using testing::TarBuilder;

std::vector<TarEntry> ReadAll(const std::string& tar, Status* st,
                              std::vector<std::string>* data = nullptr) {
  ChunkReader in(Source(tar));
  TarReader reader(in);
  std::vector<TarEntry> out;
  for (;;) {
    TarEntry e;
    StatusOr<bool> more = reader.Next(&e);
    if (!more.ok()) {
      *st = more.status();
      return out;
    }
    if (!*more) break;
    std::string d;
    *st = reader.ReadData([&](std::string_view p) {
      d.append(p);
      return absl::OkStatus();
    });
    if (!st->ok()) return out;
    if (data) data->push_back(d);
    out.push_back(e);
  }
  *st = absl::OkStatus();
  return out;
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/capsule-images-test-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Status Apply(const std::string& tar, const std::string& root) {
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY);
  UniqueFd dir(fd);
  ChunkReader in(Source(tar, 1000));
  TarReader reader(in);
  return ApplyLayer(reader, dir.get());
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(TarReader, ReadsFilesDirsAndLinksInSmallPieces) {
  const std::string tar = TarBuilder()
                              .Dir("etc/")
                              .File("etc/hostname", "box\n", 0640, 12, 34)
                              .Symlink("bin/sh", "busybox")
                              .Hardlink("bin/ls", "bin/busybox")
                              .Finish();
  Status st;
  std::vector<std::string> data;
  auto entries = ReadAll(tar, &st, &data);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].type, TarType::kDir);
  EXPECT_EQ(entries[1].path, "etc/hostname");
  EXPECT_EQ(data[1], "box\n");
  EXPECT_EQ(entries[1].mode, 0640u);
  EXPECT_EQ(entries[1].uid, 12u);
  EXPECT_EQ(entries[1].gid, 34u);
  EXPECT_EQ(entries[2].type, TarType::kSymlink);
  EXPECT_EQ(entries[2].linkname, "busybox");
  EXPECT_EQ(entries[3].type, TarType::kHardlink);
}

TEST(TarReader, PaxPathAndLinkpathOverrideTheHeader) {
  const std::string long_path = std::string(150, 'p') + "/" + std::string(120, 'q');
  const std::string long_link = std::string(200, 'l');
  const std::string tar = TarBuilder()
                              .Pax({{"path", long_path}, {"uid", "70000"}})
                              .File("short", "x")
                              .Pax({{"linkpath", long_link}})
                              .Symlink("s", "ignored")
                              .Finish();
  Status st;
  auto entries = ReadAll(tar, &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].path, long_path);
  EXPECT_EQ(entries[0].uid, 70000u);
  EXPECT_EQ(entries[1].linkname, long_link);
}

TEST(TarReader, GnuLongName) {
  const std::string name = std::string(300, 'n');
  const std::string tar = TarBuilder().GnuLongName(name).File("trunc", "data").Finish();
  Status st;
  auto entries = ReadAll(tar, &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].path, name);
}

TEST(TarReader, HugePaxHeaderIsRefused) {
  const std::string tar =
      TarBuilder().PaxOfSize(TarReader::kMaxMetaSize + 1).File("f", "").Finish();
  Status st;
  ReadAll(tar, &st);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_NE(std::string(st.message()).find("too large"), std::string::npos);
}

TEST(TarReader, MalformedPaxRecordIsRefused) {
  const std::string tar =
      TarBuilder().Entry("PaxHeaders/x", 'x', "", "99 path=x\n", 0644, 0, 0).File("f", "").Finish();
  Status st;
  ReadAll(tar, &st);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
}

TEST(TarReader, TruncatedArchivesAreErrors) {
  const std::string full = TarBuilder().File("a", std::string(2000, 'a')).Finish();
  Status st;
  ReadAll(full.substr(0, 1000), &st);  // inside the data
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st;
  ReadAll(full.substr(0, 100), &st);  // inside the header
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st;
  ReadAll(TarBuilder().File("a", "x").Unfinished(), &st);  // no end-of-archive blocks
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange) << st;
}

TEST(TarReader, BadChecksumIsRefused) {
  std::string tar = TarBuilder().File("a", "x").Finish();
  tar[0] = 'b';
  Status st;
  ReadAll(tar, &st);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
}

TEST(TarReader, NulInPaxPathOrLinkpathIsRefused) {
  // "evil\0/../../x": a C string of it names another file than the archive does.
  for (const char* key : {"path", "linkpath", "uname", "gname"}) {
    Status st;
    ReadAll(TarBuilder()
                .Pax({{key, std::string("etc/passwd\0/../../x", 19)}})
                .File("name", "x")
                .Finish(),
            &st);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(st.message(), std::string("invalid tar archive: NUL byte in PAX record ") + key);
  }
  // Positive control: the same record without the NUL is read.
  Status st;
  auto entries =
      ReadAll(TarBuilder().Pax({{"path", "etc/passwd/../../x"}}).File("name", "x").Finish(), &st);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(entries[0].path, "etc/passwd/../../x");
}

TEST(TarReader, NulInAPaxKeyIsRefused) {
  Status st;
  ReadAll(TarBuilder().Pax({{std::string("pa\0th", 5), "x"}}).File("name", "x").Finish(), &st);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

TEST(TarReader, NulInsideAGnuLongNameOrLinkIsRefused) {
  Status st;
  ReadAll(TarBuilder().GnuLongName(std::string("a\0b", 3)).File("short", "x").Finish(), &st);
  EXPECT_EQ(st.message(), "invalid tar archive: NUL byte inside a GNU long name");
  ReadAll(TarBuilder().GnuLongLink(std::string("a\0b", 3)).Symlink("l", "short").Finish(), &st);
  EXPECT_EQ(st.message(), "invalid tar archive: NUL byte inside a GNU long link name");
  // Positive control: the NUL terminator (and padding) GNU tar writes is fine.
  auto entries = ReadAll(TarBuilder().GnuLongLink("target").Symlink("l", "short").Finish(), &st);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(entries[0].linkname, "target");
}

TEST(CleanArchivePath, NormalisesAndRefusesEscapes) {
  EXPECT_EQ(*CleanArchivePath("/abs/./x//y/"), "abs/x/y");
  EXPECT_EQ(*CleanArchivePath("a/../b"), "b");
  EXPECT_EQ(*CleanArchivePath("./"), "");
  EXPECT_FALSE(CleanArchivePath("../x").ok());
  EXPECT_FALSE(CleanArchivePath("a/../../x").ok());
  EXPECT_FALSE(CleanArchivePath("/../x").ok());
}

TEST(ApplyLayer, AbsolutePathsLandUnderTheRoot) {
  TempDir root;
  ASSERT_TRUE(Apply(TarBuilder().File("/abs/file", "in").Finish(), root.path()).ok());
  EXPECT_EQ(Slurp(root.path() + "/abs/file"), "in");
}

TEST(ApplyLayer, DotDotTraversalIsRefused) {
  TempDir root, outside;
  const std::string rel = "../" + fs::path(outside.path()).filename().string() + "/x";
  Status st = Apply(TarBuilder().File(rel, "out").Finish(), root.path() + "/");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_FALSE(fs::exists(outside.path() + "/x"));
}

TEST(ApplyLayer, SymlinkOutOfTheRootIsNeverFollowed) {
  TempDir root, outside;
  // The link's target does not exist inside the root: writing through it fails.
  Status st = Apply(TarBuilder().Symlink("evil", outside.path()).File("evil/pwned", "x").Finish(),
                    root.path());
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(fs::is_empty(outside.path()));
}

TEST(ApplyLayer, SymlinksResolveAsIfTheRootWereSlash) {
  TempDir root, outside;
  const std::string tar = TarBuilder()
                              .Dir(outside.path() + "/")  // the same path, inside the root
                              .Symlink("evil", outside.path())
                              .File("evil/pwned", "x")
                              .Symlink("up", "../../../../../../..")
                              .File("up/" + outside.path().substr(1) + "/pwned2", "y")
                              .Finish();
  Status st = Apply(tar, root.path());
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(fs::is_empty(outside.path()));
  EXPECT_EQ(Slurp(root.path() + outside.path() + "/pwned"), "x");
  EXPECT_EQ(Slurp(root.path() + outside.path() + "/pwned2"), "y");
}

TEST(ApplyLayer, HardlinkOutsideTheRootIsRefused) {
  TempDir root, outside;
  { std::ofstream(outside.path() + "/secret") << "host"; }
  EXPECT_FALSE(
      Apply(TarBuilder().Hardlink("h", "../../../../" + outside.path() + "/secret").Finish(),
            root.path())
          .ok());
  // Through a symlink to the outside directory: resolved in the root, where it is absent.
  Status st =
      Apply(TarBuilder().Symlink("out", outside.path()).Hardlink("h2", "out/secret").Finish(),
            root.path());
  EXPECT_FALSE(st.ok());
  struct stat st_out;
  ASSERT_EQ(::stat((outside.path() + "/secret").c_str(), &st_out), 0);
  EXPECT_EQ(st_out.st_nlink, 1u);
  EXPECT_FALSE(fs::exists(root.path() + "/h2"));
}

TEST(ApplyLayer, HardlinkInsideTheRoot) {
  TempDir root;
  ASSERT_TRUE(
      Apply(TarBuilder().File("bin/busybox", "bb").Hardlink("bin/ls", "bin/busybox").Finish(),
            root.path())
          .ok());
  struct stat a, b;
  ASSERT_EQ(::stat((root.path() + "/bin/busybox").c_str(), &a), 0);
  ASSERT_EQ(::stat((root.path() + "/bin/ls").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST(ApplyLayer, OwnershipAndModeArePreserved) {
  TempDir root;
  ASSERT_TRUE(Apply(TarBuilder().Dir("d", 0711).File("d/suid", "x", 04755, 1234, 5678).Finish(),
                    root.path())
                  .ok());
  struct stat st;
  ASSERT_EQ(::stat((root.path() + "/d/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  ASSERT_EQ(::stat((root.path() + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
}

TEST(ApplyLayer, WhiteoutsRemoveLowerLayerFiles) {
  TempDir root;
  ASSERT_TRUE(Apply(TarBuilder()
                        .File("a/x", "1")
                        .File("a/y", "2")
                        .File("b/keep", "3")
                        .File("c", "4")
                        .Finish(),
                    root.path())
                  .ok());
  ASSERT_TRUE(Apply(TarBuilder()
                        .Dir("a/")
                        .File("a/z", "new")
                        .File("a/.wh..wh..opq", "")
                        .File(".wh.c", "")
                        .File("b/.wh.nothing", "")
                        .Finish(),
                    root.path())
                  .ok());
  EXPECT_FALSE(fs::exists(root.path() + "/a/x"));
  EXPECT_FALSE(fs::exists(root.path() + "/a/y"));
  EXPECT_EQ(Slurp(root.path() + "/a/z"), "new");  // this layer's own file survives
  EXPECT_FALSE(fs::exists(root.path() + "/a/.wh..wh..opq"));
  EXPECT_FALSE(fs::exists(root.path() + "/c"));
  EXPECT_FALSE(fs::exists(root.path() + "/.wh.c"));
  EXPECT_TRUE(fs::exists(root.path() + "/b/keep"));
}

TEST(ApplyLayer, LaterEntryReplacesEarlierOne) {
  TempDir root;
  ASSERT_TRUE(
      Apply(TarBuilder().Dir("x/").File("x/f", "1").File("x", "file now").Finish(), root.path())
          .ok());
  EXPECT_EQ(Slurp(root.path() + "/x"), "file now");
}

TEST(ApplyLayer, DeviceNodesAreSkipped) {
  TempDir root;
  Status st =
      Apply(TarBuilder().Device("dev/null2").Device("dev/sda9", '4').File("after", "ok").Finish(),
            root.path());
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_FALSE(fs::exists(fs::symlink_status(root.path() + "/dev/null2")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(root.path() + "/dev/sda9")));
  EXPECT_EQ(Slurp(root.path() + "/after"), "ok");  // the entries after them are applied
}

TEST(ApplyLayer, FifoIsCreatedAsAFifoWithItsMode) {
  // As Docker: a FIFO in a layer is a FIFO in the rootfs (readers of image files never block
  // on it: they open without blocking and check the type).
  TempDir root;
  ASSERT_TRUE(Apply(TarBuilder().Fifo("run/pipe", 0620).Finish(), root.path()).ok());
  struct stat st;
  ASSERT_EQ(::lstat((root.path() + "/run/pipe").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
}

TEST(ApplyLayer, ModesAreExactlyTheArchivesWhateverTheUmask) {
  TempDir root;
  const mode_t old = ::umask(0077);
  Status st = Apply(TarBuilder()
                        .File("implicit/dir/f", "x", 0644)
                        .Dir("tmp/", 01777)
                        .Dir("private/", 0700)
                        .File("private/g", "y", 0640)
                        .Fifo("p", 0666)
                        .Finish(),
                    root.path());
  ::umask(old);
  ASSERT_TRUE(st.ok()) << st;
  auto mode = [&](const std::string& rel) {
    struct stat s;
    EXPECT_EQ(::lstat((root.path() + "/" + rel).c_str(), &s), 0) << rel;
    return s.st_mode & 07777;
  };
  EXPECT_EQ(mode("implicit"), 0755u);  // parents the archive does not list: 0755, as Docker
  EXPECT_EQ(mode("implicit/dir"), 0755u);
  EXPECT_EQ(mode("implicit/dir/f"), 0644u);
  EXPECT_EQ(mode("tmp"), 01777u);  // world-writable only because the archive says so
  EXPECT_EQ(mode("private"), 0700u);
  EXPECT_EQ(mode("private/g"), 0640u);
  EXPECT_EQ(mode("p"), 0666u);
}

TEST(ApplyLayer, SetuidAndSetgidBitsAreKeptOnlyWhereTheArchiveHasThem) {
  TempDir root;
  ASSERT_TRUE(Apply(TarBuilder()
                        .File("bin/su", "x", 04755, 0, 0)
                        .File("bin/wall", "x", 02755, 0, 5)
                        .File("bin/plain", "x", 0755, 1000, 1000)
                        .Dir("shared/", 02775)
                        .File("shared/f", "x", 0644, 1000, 1000)
                        .Finish(),
                    root.path())
                  .ok());
  struct stat st;
  ASSERT_EQ(::stat((root.path() + "/bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);  // chown first, chmod after: the bit survives
  ASSERT_EQ(::stat((root.path() + "/bin/wall").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02755u);
  ASSERT_EQ(::stat((root.path() + "/bin/plain").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  // A file in a setgid directory takes the archive's group and mode, not the directory's.
  ASSERT_EQ(::stat((root.path() + "/shared/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(st.st_gid, 1000u);
}

TEST(ApplyLayer, HardlinkToAnAbsoluteHostPathIsResolvedInTheRoot) {
  TempDir root, outside;
  { std::ofstream(outside.path() + "/secret") << "host"; }
  Status st = Apply(TarBuilder().Hardlink("h", outside.path() + "/secret").Finish(), root.path());
  EXPECT_FALSE(st.ok());
  struct stat st_out;
  ASSERT_EQ(::stat((outside.path() + "/secret").c_str(), &st_out), 0);
  EXPECT_EQ(st_out.st_nlink, 1u);
  EXPECT_FALSE(fs::exists(root.path() + "/h"));
  // Positive control: the same absolute name inside the root is linked.
  TempDir root2;
  ASSERT_TRUE(Apply(TarBuilder()
                        .File(outside.path() + "/secret", "inside")
                        .Hardlink("h", outside.path() + "/secret")
                        .Finish(),
                    root2.path())
                  .ok());
  EXPECT_EQ(Slurp(root2.path() + "/h"), "inside");
}

}  // namespace
}  // namespace capsule::agent
