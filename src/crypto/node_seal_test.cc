#include "crypto/node_seal.h"

#include <gtest/gtest.h>

#include "crypto/random.h"

namespace capsule::crypto {
namespace {

class NodeSealTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(NodeSealTest, RoundTrip) {
  DeliveryKeyPair kp = NewDeliveryKeyPair();
  ASSERT_EQ(kp.public_key.size(), 32u);
  std::string aad = DeliveryAad("sec1", "node1", "sess1");
  auto sealed = SealForNode(kp.public_key, aad, SecretBytes::CopyFrom(std::string_view("s3cr3t")));
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->size(), kNodeSealOverhead + 6);
  EXPECT_EQ(sealed->find("s3cr3t"), std::string::npos);
  auto opened = OpenFromDispatcher(kp, aad, *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), "s3cr3t");
}

TEST_F(NodeSealTest, EmptyAndLargePlaintexts) {
  DeliveryKeyPair kp = NewDeliveryKeyPair();
  for (size_t n : {size_t{0}, size_t{1}, size_t{500 * 1024}}) {
    SecretBytes plain(n);
    for (size_t i = 0; i < n; ++i) plain.data()[i] = static_cast<uint8_t>(i * 7);
    auto sealed = SealForNode(kp.public_key, "a", plain);
    ASSERT_TRUE(sealed.ok());
    auto opened = OpenFromDispatcher(kp, "a", *sealed);
    ASSERT_TRUE(opened.ok());
    EXPECT_TRUE(opened->Equals(plain.span()));
  }
}

TEST_F(NodeSealTest, EachSealIsFresh) {
  DeliveryKeyPair kp = NewDeliveryKeyPair();
  auto plain = SecretBytes::CopyFrom(std::string_view("x"));
  EXPECT_NE(*SealForNode(kp.public_key, "a", plain), *SealForNode(kp.public_key, "a", plain));
}

TEST_F(NodeSealTest, WrongKeyFails) {
  DeliveryKeyPair kp = NewDeliveryKeyPair();
  DeliveryKeyPair other = NewDeliveryKeyPair();
  auto sealed = SealForNode(kp.public_key, "a", SecretBytes::CopyFrom(std::string_view("v")));
  ASSERT_TRUE(sealed.ok());
  auto opened = OpenFromDispatcher(other, "a", *sealed);
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
}

TEST_F(NodeSealTest, WrongAadFails) {
  DeliveryKeyPair kp = NewDeliveryKeyPair();
  auto plain = SecretBytes::CopyFrom(std::string_view("v"));
  auto sealed = SealForNode(kp.public_key, DeliveryAad("s1", "n1", "x1"), plain);
  ASSERT_TRUE(sealed.ok());
  for (const std::string& aad : {DeliveryAad("s2", "n1", "x1"), DeliveryAad("s1", "n2", "x1"),
                                 DeliveryAad("s1", "n1", "x2"), DeliveryAad("s1n1", "", "x1")}) {
    EXPECT_EQ(OpenFromDispatcher(kp, aad, *sealed).status().code(), StatusCode::kDataLoss);
  }
}

TEST_F(NodeSealTest, TamperFails) {
  DeliveryKeyPair kp = NewDeliveryKeyPair();
  auto sealed = SealForNode(kp.public_key, "a", SecretBytes::CopyFrom(std::string_view("value")));
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(OpenFromDispatcher(kp, "a", bad).ok()) << "byte " << i;
  }
  EXPECT_FALSE(OpenFromDispatcher(kp, "a", sealed->substr(0, sealed->size() - 1)).ok());
  EXPECT_FALSE(OpenFromDispatcher(kp, "a", "").ok());
}

TEST_F(NodeSealTest, BadDeliveryKeysRefused) {
  auto plain = SecretBytes::CopyFrom(std::string_view("v"));
  EXPECT_EQ(ValidateDeliveryKey(std::string(31, 'k')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDeliveryKey(std::string(33, 'k')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateDeliveryKey(std::string(32, '\0')).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SealForNode(std::string(32, '\0'), "a", plain).status().code(),
            StatusCode::kInvalidArgument);
  // A low-order point (order 1 besides zero: the point with u = 1) gives an all-zero result.
  std::string one(32, '\0');
  one[0] = 1;
  EXPECT_EQ(SealForNode(one, "a", plain).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateDeliveryKey(NewDeliveryKeyPair().public_key).ok());
}

// libsodium's blocklist of small-order X25519 points (has_small_order), as hex.
constexpr const char* kSmallOrderHex[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

std::string FromHex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST_F(NodeSealTest, EverySmallOrderPointIsRefusedWithEitherTopBit) {
  int refused = 0;
  for (const char* hex : kSmallOrderHex) {
    std::string key = FromHex(hex);
    ASSERT_EQ(key.size(), kDeliveryKeyBytes);
    for (bool top_bit : {false, true}) {
      if (top_bit) key[31] = static_cast<char>(static_cast<unsigned char>(key[31]) | 0x80);
      Status st = ValidateDeliveryKey(key);
      EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << hex << " top bit " << top_bit;
      if (!st.ok()) ++refused;
      EXPECT_EQ(SealForNode(key, "a", SecretBytes::CopyFrom(std::string_view("v"))).status().code(),
                StatusCode::kInvalidArgument)
          << hex;
    }
  }
  EXPECT_EQ(refused, 14);
}

TEST_F(NodeSealTest, OrdinaryPointsNearTheBlocklistAreAccepted) {
  // Positive control: the check refuses small-order points only. u = 2 and u = 9 (the base
  // point) are of large order; a sealed value to a real key opens.
  std::string two(32, '\0');
  two[0] = 2;
  EXPECT_TRUE(ValidateDeliveryKey(two).ok());
  std::string nine(32, '\0');
  nine[0] = 9;
  EXPECT_TRUE(ValidateDeliveryKey(nine).ok());
  for (int i = 0; i < 50; ++i)
    EXPECT_TRUE(ValidateDeliveryKey(NewDeliveryKeyPair().public_key).ok());
}

}  // namespace
}  // namespace capsule::crypto
