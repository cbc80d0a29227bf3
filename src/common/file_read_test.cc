// common/file_read.h against real files in a temporary directory.
#include "common/file_read.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace capsule {
namespace {

class FileReadTest : public ::testing::Test {
 protected:
  FileReadTest() {
    char tmpl[] = "/tmp/file-read-test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~FileReadTest() override {
    (void)::unlink((dir_ + "/f").c_str());
    (void)::unlink((dir_ + "/link").c_str());
    (void)::rmdir(dir_.c_str());
  }
  std::string Write(const std::string& content) {
    std::ofstream(dir_ + "/f", std::ios::binary) << content;
    return dir_ + "/f";
  }
  std::string dir_;
};

TEST_F(FileReadTest, ReadsTheWholeFileAcrossBufferBoundaries) {
  std::string big(20000, 'x');
  big[8191] = '\0';  // binary content kept as it is
  big.back() = 'y';
  EXPECT_EQ(ReadWholeFile(Write(big)).value(), big);
}

TEST_F(FileReadTest, AnEmptyFileIsAnEmptyString) {
  EXPECT_EQ(ReadWholeFile(Write("")).value(), "");
}

TEST_F(FileReadTest, AMissingFileIsNotFoundNamingThePath) {
  StatusOr<std::string> r = ReadWholeFile(dir_ + "/missing");
  ASSERT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_NE(r.status().message().find(dir_ + "/missing"), std::string::npos);
  EXPECT_EQ(ReadFileOrEmpty(dir_ + "/missing"), "");
}

TEST_F(FileReadTest, NoFollowRefusesASymlinkThePlainReadFollows) {
  const std::string target = Write("through the link");
  ASSERT_EQ(::symlink(target.c_str(), (dir_ + "/link").c_str()), 0);
  EXPECT_EQ(ReadWholeFile(dir_ + "/link").value(), "through the link");
  EXPECT_FALSE(ReadWholeFile(dir_ + "/link", O_NOFOLLOW).ok());
}

TEST_F(FileReadTest, ReadFileOrEmptyGivesTheContent) {
  EXPECT_EQ(ReadFileOrEmpty(Write("pem")), "pem");
}

}  // namespace
}  // namespace capsule
