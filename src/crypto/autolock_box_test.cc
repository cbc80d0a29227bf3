#include "crypto/autolock_box.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>

#include "crypto/aead.h"
#include "crypto/random.h"

namespace capsule::crypto {
namespace {

class AutolockBoxTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
  SecretBytes w_ = RandomKey(kKeySize);  // the cluster key-wrapping key
  SecretBytes k1_ = RandomKey(kKeySize);
  SecretBytes k2_ = RandomKey(kKeySize);
  SecretBytes k3_ = RandomKey(kKeySize);
};

void ExpectRefused(const StatusOr<UnlockedKeys>& r) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(r.status().message(), "swarm could not be unlocked: invalid key provided");
}

TEST_F(AutolockBoxTest, OpensWithItsKeyOnly) {
  StatusOr<AutolockBox> box = AutolockBox::New(k1_, w_);
  ASSERT_TRUE(box.ok());
  StatusOr<UnlockedKeys> keys = box->Open(k1_, 0);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_TRUE(keys->kek.Equals(w_.span()));
  EXPECT_TRUE(keys->unlock_key.Equals(k1_.span()));
  ExpectRefused(box->Open(k2_, 0));
  ExpectRefused(box->Open(w_, 0));  // the wrapped key is not an unlock key
  ExpectRefused(box->Open(SecretBytes::CopyFrom(std::string_view("short")), 0));
}

TEST_F(AutolockBoxTest, PreviousKeyOpensUntilItsDeadlineOnly) {
  StatusOr<AutolockBox> box = AutolockBox::Rotated(k1_, k2_, w_, /*until_unix=*/1000);
  ASSERT_TRUE(box.ok());
  StatusOr<UnlockedKeys> by_new = box->Open(k2_, 999);
  ASSERT_TRUE(by_new.ok());
  EXPECT_TRUE(by_new->kek.Equals(w_.span()));
  StatusOr<UnlockedKeys> by_old = box->Open(k1_, 999);
  ASSERT_TRUE(by_old.ok());
  EXPECT_TRUE(by_old->kek.Equals(w_.span()));
  EXPECT_TRUE(by_old->unlock_key.Equals(k2_.span()));  // the current key, not the old one
  ExpectRefused(box->Open(k1_, 1000));                 // deadline passed
  EXPECT_TRUE(box->Open(k2_, 5000).ok());
  ExpectRefused(box->Open(k3_, 999));
}

TEST_F(AutolockBoxTest, OnlyOnePreviousKeyIsKept) {
  StatusOr<AutolockBox> box = AutolockBox::Rotated(k2_, k3_, w_, 1000);  // k1 → k2 → k3
  ASSERT_TRUE(box.ok());
  ExpectRefused(box->Open(k1_, 0));
  EXPECT_TRUE(box->Open(k2_, 0).ok());
}

TEST_F(AutolockBoxTest, DeadlineCannotBeExtendedByEditingTheFile) {
  StatusOr<AutolockBox> box = AutolockBox::Rotated(k1_, k2_, w_, 1000);
  ASSERT_TRUE(box.ok());
  std::string text = box->Serialize();
  const size_t at = text.find("1000");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 4, "9999");
  StatusOr<AutolockBox> edited = AutolockBox::Parse(text);
  ASSERT_TRUE(edited.ok()) << edited.status();
  ExpectRefused(edited->Open(k1_, 2000));
  EXPECT_TRUE(edited->Open(k2_, 2000).ok());
}

TEST_F(AutolockBoxTest, SerializeParseRoundTrip) {
  StatusOr<AutolockBox> box = AutolockBox::Rotated(k1_, k2_, w_, 1000);
  ASSERT_TRUE(box.ok());
  StatusOr<AutolockBox> back = AutolockBox::Parse(box->Serialize());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->has_previous());
  EXPECT_EQ(back->previous_until(), 1000);
  EXPECT_TRUE(back->Open(k1_, 10).ok());
  EXPECT_TRUE(back->Open(k2_, 10).ok());
  StatusOr<AutolockBox> plain = AutolockBox::Parse(AutolockBox::New(k1_, w_)->Serialize());
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->has_previous());
}

TEST_F(AutolockBoxTest, NoKeyMaterialInTheSerializedBox) {
  StatusOr<AutolockBox> box = AutolockBox::Rotated(k1_, k2_, w_, 1000);
  ASSERT_TRUE(box.ok());
  const std::string text = box->Serialize();
  for (const SecretBytes* k : {&w_, &k1_, &k2_}) {
    EXPECT_EQ(text.find(k->view()), std::string::npos);
  }
}

TEST_F(AutolockBoxTest, MalformedBoxesAreDataLoss) {
  for (const char* text :
       {"", "[]", "{}", R"({"Version":2,"Kek":"AAAA","Key":"AAAA"})", R"({"Version":1})",
        R"({"Version":1,"Kek":"!!","Key":"AAAA"})", R"({"Version":1,"Kek":"AAAA"})",
        R"({"Version":1,"Kek":"AAAA","Key":"AAAA","Previous":{"Sealed":"AAAA"}})",
        R"({"Version":1,"Kek":"AAAA","Key":"AAAA","Previous":3})"}) {
    StatusOr<AutolockBox> box = AutolockBox::Parse(text);
    ASSERT_FALSE(box.ok()) << text;
    EXPECT_EQ(box.status().code(), StatusCode::kDataLoss) << text;
  }
}

TEST_F(AutolockBoxTest, FileIsPrivateAndAbsentMeansNotLocked) {
  char tmpl[] = "/tmp/capsule-autolock-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/autolock";
  StatusOr<std::optional<AutolockBox>> none = ReadAutolockBox(path);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  StatusOr<AutolockBox> box = AutolockBox::New(k1_, w_);
  ASSERT_TRUE(box.ok());
  ASSERT_TRUE(WriteAutolockBox(path, *box).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  StatusOr<std::optional<AutolockBox>> read = ReadAutolockBox(path);
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_TRUE((*read)->Open(k1_, 0).ok());
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace capsule::crypto
