#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <string>

#include "crypto/random.h"

namespace capsule::crypto {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class AeadTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
  SecretBytes key_ = RandomKey(kKeySize);
};

TEST_F(AeadTest, RoundTrip) {
  auto sealed = Seal(key_, 7, "/capsule/v1/secrets/abc", Bytes("hunter2"));
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->size(), kSealOverhead + 7);
  EXPECT_EQ(sealed->find("hunter2"), std::string::npos);
  auto opened = Open(key_, "/capsule/v1/secrets/abc", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), "hunter2");
}

TEST_F(AeadTest, RoundTripEmptyPlaintext) {
  auto sealed = Seal(key_, 1, "k", {});
  ASSERT_TRUE(sealed.ok());
  auto opened = Open(key_, "k", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_TRUE(opened->empty());
}

TEST_F(AeadTest, EveryBitFlipIsDetected) {
  auto sealed = Seal(key_, 3, "aad", Bytes("some secret value"));
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = *sealed;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      auto opened = Open(key_, "aad", tampered);
      ASSERT_FALSE(opened.ok()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << "byte " << i << " bit " << bit;
    }
  }
}

TEST_F(AeadTest, WrongAadFails) {
  auto sealed = Seal(key_, 1, "/capsule/v1/secrets/a", Bytes("x"));
  ASSERT_TRUE(sealed.ok());
  auto opened = Open(key_, "/capsule/v1/secrets/b", *sealed);
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(Open(key_, "", *sealed).status().code(), StatusCode::kDataLoss);
}

TEST_F(AeadTest, WrongKeyFails) {
  auto sealed = Seal(key_, 1, "a", Bytes("x"));
  ASSERT_TRUE(sealed.ok());
  SecretBytes other = RandomKey(kKeySize);
  auto opened = Open(other, "a", *sealed);
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("authentication failed"), std::string::npos);
}

TEST_F(AeadTest, TruncatedInputFails) {
  auto sealed = Seal(key_, 1, "a", Bytes("hello"));
  ASSERT_TRUE(sealed.ok());
  for (size_t n = 0; n < sealed->size(); ++n) {
    auto opened = Open(key_, "a", std::string_view(*sealed).substr(0, n));
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss) << n;
  }
}

TEST_F(AeadTest, KeyIdIsReadable) {
  auto sealed = Seal(key_, 0x01020304, "a", Bytes("x"));
  ASSERT_TRUE(sealed.ok());
  auto id = SealedKeyId(*sealed);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0x01020304u);
  EXPECT_EQ(SealedKeyId("short").status().code(), StatusCode::kDataLoss);
  std::string bad_version = *sealed;
  bad_version[0] = 2;
  EXPECT_EQ(SealedKeyId(bad_version).status().code(), StatusCode::kDataLoss);
}

TEST_F(AeadTest, SameInputSealsDifferently) {
  auto a = Seal(key_, 1, "a", Bytes("same"));
  auto b = Seal(key_, 1, "a", Bytes("same"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
}

TEST_F(AeadTest, BadKeySizeIsInvalidArgument) {
  SecretBytes short_key = RandomKey(16);
  EXPECT_EQ(Seal(short_key, 1, "a", Bytes("x")).status().code(), StatusCode::kInvalidArgument);
  auto sealed = Seal(key_, 1, "a", Bytes("x"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(Open(short_key, "a", *sealed).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace capsule::crypto
