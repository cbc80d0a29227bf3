#include "ca/unlock_key.h"

#include <gtest/gtest.h>

#include "crypto/aead.h"
#include "crypto/random.h"

namespace capsule::ca {
namespace {

class UnlockKeyTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::InitCrypto().ok()); }
};

TEST_F(UnlockKeyTest, RoundTrip) {
  SecretBytes kek = crypto::RandomKey(crypto::kKeySize);
  SecretBytes text = FormatUnlockKey(kek);
  ASSERT_EQ(text.size(), 9u + 43);  // 32 bytes → 43 unpadded base64 chars
  EXPECT_EQ(text.view().substr(0, 9), "SWMKEY-1-");
  EXPECT_EQ(text.view().find('='), std::string_view::npos);
  auto back = ParseUnlockKey(text.view());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->Equals(kek.span()));
}

TEST_F(UnlockKeyTest, KnownValue) {
  SecretBytes key(32);  // all zero
  EXPECT_EQ(FormatUnlockKey(key).view(), "SWMKEY-1-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  uint8_t raw[3] = {0xfb, 0xff, 0xbf};  // uses '+' and '/' (standard alphabet)
  EXPECT_EQ(FormatUnlockKey(SecretBytes::CopyFrom(std::span<const uint8_t>(raw))).view(),
            "SWMKEY-1-+/+/");
}

TEST_F(UnlockKeyTest, RejectsMalformed) {
  SecretBytes kek = crypto::RandomKey(crypto::kKeySize);
  std::string good(FormatUnlockKey(kek).view());
  for (const std::string& bad :
       {std::string(""), std::string("SWMKEY-1-"), "SWMKEY-2-" + good.substr(9), good.substr(9),
        good + "=", good.substr(0, 20) + "!" + good.substr(21),
        "SWMKEY-1-" + std::string("-_-_")}) {
    auto parsed = ParseUnlockKey(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), "invalid key string");
  }
}

// As Go's (non-strict) RawStdEncoding, which Docker uses: the unused low bits of the last
// character do not matter (checked on Docker 20.10: "…84Ts" and "…84Tt" unlock the same swarm).
TEST_F(UnlockKeyTest, UnusedLowBitsOfTheLastCharacterAreIgnored) {
  auto a = ParseUnlockKey("SWMKEY-1-FXPeT/gO4I3gvGM6eKGU418ZD3kYYqaSCzbgmVm84Ts");
  auto b = ParseUnlockKey("SWMKEY-1-FXPeT/gO4I3gvGM6eKGU418ZD3kYYqaSCzbgmVm84Tt");
  auto c = ParseUnlockKey("SWMKEY-1-FXPeT/gO4I3gvGM6eKGU418ZD3kYYqaSCzbgmVm84Tv");
  auto other = ParseUnlockKey("SWMKEY-1-FXPeT/gO4I3gvGM6eKGU418ZD3kYYqaSCzbgmVm84Tw");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && other.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_TRUE(a->Equals(b->span()));
  EXPECT_TRUE(a->Equals(c->span()));
  EXPECT_FALSE(a->Equals(other->span()));
  EXPECT_EQ(FormatUnlockKey(*b).view(), "SWMKEY-1-FXPeT/gO4I3gvGM6eKGU418ZD3kYYqaSCzbgmVm84Ts");
  // Two characters left over (one byte, four unused bits).
  auto d = ParseUnlockKey("SWMKEY-1-+A");
  auto e = ParseUnlockKey("SWMKEY-1-+P");
  ASSERT_TRUE(d.ok() && e.ok());
  EXPECT_TRUE(d->Equals(e->span()));
}

}  // namespace
}  // namespace capsule::ca
