// `capsule image …` against the fake daemon: what is uploaded and what is printed, as the
// docker 20.10 CLI does for `docker import|load|image ls|image rm`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "cli/fake_daemon_test_util.h"
#include "cli/image_ops.h"

namespace capsule::cli {
namespace {

using ::capsule::testing::FakeClock;
using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;

std::string TempFile(const std::string& content) {
  char path[] = "/tmp/capsule-cli-image-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
  close(fd);
  return path;
}

TEST(ImageImportTest, StreamsTheFileChunkedWithDockersQuery) {
  FakeDaemon daemon;
  daemon.On("POST", "/images/create", {200, "{\"status\":\"sha256:abc\"}\r\n"});
  // Larger than one upload chunk, with every byte value.
  std::string tar;
  for (int i = 0; i < 200000; ++i) tar += static_cast<char>(i % 256);
  const std::string path = TempFile(tar);
  CliResult r = RunAgainst(daemon, {"image", "import", "--change", "ENV PATH=/bin", "-c",
                                    "CMD [\"sh\"]", "-m", "msg", path, "capsule/busybox:2"});
  unlink(path.c_str());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "sha256:abc\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target,
            "/v1.41/images/create?changes=ENV+PATH%3D%2Fbin&changes=CMD+%5B%22sh%22%5D&fromSrc=-"
            "&message=msg&repo=capsule%2Fbusybox%3A2&tag=");
  EXPECT_EQ(reqs[0].headers["transfer-encoding"], "chunked");
  EXPECT_EQ(reqs[0].headers["content-type"], "text/plain");
  EXPECT_EQ(reqs[0].body, tar);
}

TEST(ImageImportTest, StdinErrorsAndBadReference) {
  FakeDaemon daemon;
  daemon.On("POST", "/images/create",
            {200,
             "{\"errorDetail\":{\"message\":\"archive/tar: invalid tar header\"},"
             "\"error\":\"archive/tar: invalid tar header\"}\r\n"});
  CliResult r = RunAgainst(daemon, {"image", "import", "-", "x:1"}, "not a tar");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "archive/tar: invalid tar header\n");
  ASSERT_EQ(daemon.requests().size(), 1u);
  EXPECT_EQ(daemon.requests()[0].body, "not a tar");
  r = RunAgainst(daemon, {"image", "import", "-", "Upper/case"}, "x");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "invalid reference format: repository name must be lowercase\n");
  r = RunAgainst(daemon, {"image", "import", "/nonexistent/x.tar"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/nonexistent/x.tar"), std::string::npos) << r.err;
  EXPECT_EQ(daemon.requests().size(), 1u);
}

TEST(ImageLoadTest, UploadsTheArchiveAndPrintsTheStream) {
  FakeDaemon daemon;
  daemon.On("POST", "/images/load",
            {200, "{\"stream\":\"Loaded image: capsule/busybox:1\\n\"}\r\n"});
  CliResult r = RunAgainst(daemon, {"image", "load"}, "archive-bytes");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Loaded image: capsule/busybox:1\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1.41/images/load?quiet=1");
  EXPECT_EQ(reqs[0].headers["content-type"], "application/x-tar");
  EXPECT_EQ(reqs[0].body, "archive-bytes");
  const std::string path = TempFile("from-file");
  r = RunAgainst(daemon, {"image", "load", "-i", path});
  unlink(path.c_str());
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(daemon.requests().back().body, "from-file");
}

TEST(ImageListTest, RowPerTagAsDocker) {
  FakeDaemon daemon;
  daemon.On(
      "GET", "/images/json",
      {200,
       R"([{"Id":"sha256:0123456789abcdef0123","RepoTags":["capsule/busybox:1","capsule/busybox:latest"],)"
       R"("Created":1764286000,"Size":1234567},)"
       R"({"Id":"sha256:fedcba9876543210fedc","RepoTags":null,"Created":1764200000,"Size":512}])"});
  FakeClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1764289600)));
  CliResult r = RunAgainst(daemon, {"image", "ls"}, "", &clock);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "REPOSITORY        TAG       IMAGE ID       CREATED             SIZE\n"
            "capsule/busybox   1         0123456789ab   About an hour ago   1.23MB\n"
            "capsule/busybox   latest    0123456789ab   About an hour ago   1.23MB\n"
            "<none>            <none>    fedcba987654   25 hours ago        512B\n");
  r = RunAgainst(daemon, {"image", "ls", "-q"}, "", &clock);
  EXPECT_EQ(r.out, "0123456789ab\n0123456789ab\nfedcba987654\n");
}

TEST(ImageRemoveTest, PrintsUntaggedAndDeletedAndMissing) {
  FakeDaemon daemon;
  daemon.On("DELETE", "/images/capsule/busybox:1",
            {200, R"([{"Untagged":"capsule/busybox:1"},{"Deleted":"sha256:0123"}])"});
  CliResult r = RunAgainst(daemon, {"image", "rm", "-f", "capsule/busybox:1", "nosuch"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Untagged: capsule/busybox:1\nDeleted: sha256:0123\n");
  EXPECT_EQ(r.err, "Error: No such image: nosuch\n");
  EXPECT_EQ(daemon.requests()[0].target, "/v1.41/images/capsule/busybox:1?force=1");
}

TEST(ImageSizeTest, GoUnitsDecimalWithThreeDigits) {
  EXPECT_EQ(HumanSize(0), "0B");
  EXPECT_EQ(HumanSize(512), "512B");
  EXPECT_EQ(HumanSize(1000), "1kB");
  EXPECT_EQ(HumanSize(1234567), "1.23MB");
  EXPECT_EQ(HumanSize(4.5e9), "4.5GB");
}

}  // namespace
}  // namespace capsule::cli
