#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "crypto/aead.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "crypto/secure_file.h"

namespace capsule::crypto {
namespace {

class KekFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    char tmpl[] = "/tmp/capsule-kek-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/kek";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string path_;
};

TEST_F(KekFileTest, CreatedWithMode0600AndReloadedIdentical) {
  auto first = LoadOrCreateKekFile(path_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), kKeySize);
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  auto second = LoadOrCreateKekFile(path_);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->Equals(first->span()));
  // No temporary files are left behind.
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST_F(KekFileTest, RejectsGroupOrOtherReadable) {
  ASSERT_TRUE(LoadOrCreateKekFile(path_).ok());
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto kek = LoadOrCreateKekFile(path_);
  EXPECT_EQ(kek.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(kek.status().message().find(path_), std::string::npos) << kek.status();
  ASSERT_EQ(::chmod(path_.c_str(), 0640), 0);
  EXPECT_EQ(LoadOrCreateKekFile(path_).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(KekFileTest, RejectsWrongSize) {
  {
    std::ofstream f(path_);
    f << "too short";
  }
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  auto kek = LoadOrCreateKekFile(path_);
  EXPECT_EQ(kek.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(kek.status().message().find(path_), std::string::npos) << kek.status();
  {
    std::ofstream f(path_, std::ios::trunc);
    f << std::string(64, 'x');
  }
  kek = LoadOrCreateKekFile(path_);
  EXPECT_EQ(kek.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(kek.status().message().find(path_), std::string::npos) << kek.status();
}

TEST_F(KekFileTest, WriteFileAtomicReplacesOnlyWhenAsked) {
  const std::string p = dir_ + "/f";
  const uint8_t a[] = {1, 2, 3};
  const uint8_t b[] = {4, 5};
  ASSERT_TRUE(WriteFileAtomic(p, a, 0600, /*replace=*/false).ok());
  EXPECT_EQ(WriteFileAtomic(p, b, 0600, /*replace=*/false).code(), StatusCode::kAlreadyExists);
  auto read = ReadPrivateFile(p, 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->Equals(a));
  ASSERT_TRUE(WriteFileAtomic(p, b, 0600, /*replace=*/true).ok());
  read = ReadPrivateFile(p, 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->Equals(b));
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);  // no temporaries left behind
}

TEST_F(KekFileTest, RefusesSymlink) {
  const std::string target = dir_ + "/elsewhere";
  ASSERT_EQ(::symlink(target.c_str(), path_.c_str()), 0);
  auto kek = LoadOrCreateKekFile(path_);
  EXPECT_FALSE(kek.ok());
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST_F(KekFileTest, MissingDirectoryIsAnError) {
  auto kek = LoadOrCreateKekFile(dir_ + "/no/such/dir/kek");
  EXPECT_EQ(kek.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace capsule::crypto
