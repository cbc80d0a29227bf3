#include "crypto/keyring.h"

#include <gtest/gtest.h>

#include "crypto/aead.h"
#include "crypto/random.h"

namespace capsule::crypto {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(KeyringTest, GenerateSealsWithKeyOne) {
  Keyring k = Keyring::Generate();
  EXPECT_EQ(k.active_key_id(), 1u);
  auto sealed = k.Seal("/k", Bytes("v"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*SealedKeyId(*sealed), 1u);
  auto opened = k.Open("/k", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), "v");
  EXPECT_EQ(k.Open("/other", *sealed).status().code(), StatusCode::kDataLoss);
}

TEST_F(KeyringTest, WrapUnwrapRoundTrip) {
  Keyring k = Keyring::Generate();
  auto old_sealed = k.Seal("/a", Bytes("old"));
  ASSERT_TRUE(old_sealed.ok());
  EXPECT_EQ(k.Rotate(), 2u);
  auto new_sealed = k.Seal("/a", Bytes("new"));
  ASSERT_TRUE(new_sealed.ok());
  EXPECT_EQ(*SealedKeyId(*new_sealed), 2u);

  SecretBytes kek = RandomKey(kKeySize);
  auto wrapped = k.Wrap(kek);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status();
  EXPECT_EQ(*SealedKeyId(*wrapped), 0u);
  auto back = Keyring::Unwrap(kek, *wrapped);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->active_key_id(), 2u);
  EXPECT_EQ(back->key_ids(), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(back->Open("/a", *old_sealed)->view(), "old");
  EXPECT_EQ(back->Open("/a", *new_sealed)->view(), "new");
  EXPECT_EQ(back->NameIndex("pw"), k.NameIndex("pw"));
}

TEST_F(KeyringTest, UnwrapWithWrongKekIsDataLoss) {
  Keyring k = Keyring::Generate();
  auto wrapped = k.Wrap(RandomKey(kKeySize));
  ASSERT_TRUE(wrapped.ok());
  auto back = Keyring::Unwrap(RandomKey(kKeySize), *wrapped);
  EXPECT_EQ(back.status().code(), StatusCode::kDataLoss);
}

TEST_F(KeyringTest, UnwrapRejectsWellSealedGarbage) {
  SecretBytes kek = RandomKey(kKeySize);
  auto sealed = crypto::Seal(kek, 0, "capsule/keyring/v1", Bytes("not a keyring"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(Keyring::Unwrap(kek, *sealed).status().code(), StatusCode::kDataLoss);
}

TEST_F(KeyringTest, UnknownKeyIdIsDataLoss) {
  Keyring a = Keyring::Generate();
  a.Rotate();
  auto sealed = a.Seal("/x", Bytes("v"));  // key id 2
  ASSERT_TRUE(sealed.ok());
  Keyring b = Keyring::Generate();  // only key id 1
  EXPECT_EQ(b.Open("/x", *sealed).status().code(), StatusCode::kDataLoss);
}

TEST_F(KeyringTest, EmptyKeyringIsFailedPrecondition) {
  Keyring empty;
  EXPECT_EQ(empty.Seal("/x", Bytes("v")).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(empty.Wrap(RandomKey(kKeySize)).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(KeyringTest, NameIndexIsCaseInsensitiveAndKeyed) {
  Keyring a = Keyring::Generate();
  Keyring b = Keyring::Generate();
  const std::string idx = a.NameIndex("My_Secret.1");
  EXPECT_EQ(idx.size(), 64u);
  EXPECT_EQ(idx.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(idx, a.NameIndex("my_secret.1"));
  EXPECT_EQ(idx, a.NameIndex("MY_SECRET.1"));
  EXPECT_NE(idx, a.NameIndex("my_secret.2"));
  EXPECT_NE(idx, b.NameIndex("my_secret.1"));
  EXPECT_EQ(idx.find("secret"), std::string::npos);
}

TEST_F(KeyringTest, MoveKeepsKeys) {
  Keyring a = Keyring::Generate();
  auto sealed = a.Seal("/x", Bytes("v"));
  ASSERT_TRUE(sealed.ok());
  Keyring b(std::move(a));
  EXPECT_EQ(b.Open("/x", *sealed)->view(), "v");
  Keyring c;
  c = std::move(b);
  EXPECT_EQ(c.Open("/x", *sealed)->view(), "v");
}

}  // namespace
}  // namespace capsule::crypto

// Data-key rotation (docs/data-key-rotation.md): staging, activation, removal, adoption and
// the miss handler.
namespace capsule::crypto {
namespace {

std::span<const uint8_t> RotationBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class KeyringRotationTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(KeyringRotationTest, AStagedKeyOpensButDoesNotSealUntilActivated) {
  Keyring k = Keyring::Generate();
  EXPECT_EQ(k.Stage(), 2u);
  EXPECT_EQ(k.active_key_id(), 1u);
  EXPECT_EQ(k.key_ids(), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(*SealedKeyId(*k.Seal("/k", RotationBytes("v"))), 1u);
  ASSERT_TRUE(k.Activate(2).ok());
  auto sealed = k.Seal("/k", RotationBytes("v"));
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(*SealedKeyId(*sealed), 2u);
  EXPECT_EQ(k.Activate(9).code(), StatusCode::kNotFound);
}

TEST_F(KeyringRotationTest, RemoveDropsARetiredKeyButNeverTheActiveOne) {
  Keyring k = Keyring::Generate();
  auto old = k.Seal("/k", RotationBytes("v"));
  ASSERT_TRUE(old.ok());
  k.Stage();
  ASSERT_TRUE(k.Activate(2).ok());
  EXPECT_EQ(k.Remove(2).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(k.Remove(1).ok());
  EXPECT_EQ(k.key_ids(), std::vector<uint32_t>{2});
  EXPECT_EQ(k.Open("/k", *old).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(k.Remove(1).code(), StatusCode::kNotFound);
}

TEST_F(KeyringRotationTest, AdoptTakesTheNewerKeyringAndSurvivesWrapping) {
  Keyring k = Keyring::Generate();
  const SecretBytes kek = RandomKey(kKeySize);
  auto wrapped = k.Wrap(kek);
  ASSERT_TRUE(wrapped.ok());
  auto newer = Keyring::Unwrap(kek, *wrapped);
  ASSERT_TRUE(newer.ok());
  newer->Stage();
  ASSERT_TRUE(newer->Activate(2).ok());
  ASSERT_TRUE(newer->Remove(1).ok());
  const std::string index_before = k.NameIndex("name");
  auto rewrapped = newer->Wrap(kek);
  ASSERT_TRUE(rewrapped.ok());
  auto read_back = Keyring::Unwrap(kek, *rewrapped);
  ASSERT_TRUE(read_back.ok());
  ASSERT_TRUE(k.Adopt(*std::move(read_back)).ok());
  EXPECT_EQ(k.key_ids(), std::vector<uint32_t>{2});
  EXPECT_EQ(k.active_key_id(), 2u);
  EXPECT_EQ(k.NameIndex("name"), index_before);  // the name-index key never changes
  Keyring empty;
  EXPECT_EQ(k.Adopt(std::move(empty)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(k.key_ids(), std::vector<uint32_t>{2});
}

TEST_F(KeyringRotationTest, AnUnknownKeyIdCallsTheMissHandlerThenOpens) {
  Keyring other = Keyring::Generate();
  const SecretBytes kek = RandomKey(kKeySize);
  auto wrapped = other.Wrap(kek);
  ASSERT_TRUE(wrapped.ok());
  Keyring mine = *Keyring::Unwrap(kek, *wrapped);
  other.Stage();
  ASSERT_TRUE(other.Activate(2).ok());
  auto sealed = other.Seal("/k", RotationBytes("v"));
  ASSERT_TRUE(sealed.ok());
  std::vector<uint32_t> misses;
  mine.SetMissHandler([&](uint32_t id) {
    misses.push_back(id);
    auto w = other.Wrap(kek);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(mine.Adopt(*Keyring::Unwrap(kek, *w)).ok());
  });
  auto opened = mine.Open("/k", *sealed);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->view(), "v");
  EXPECT_EQ(misses, std::vector<uint32_t>{2});
  mine.SetMissHandler(nullptr);
}

}  // namespace
}  // namespace capsule::crypto
