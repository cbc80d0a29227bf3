// The swarm's unlock keys as a value (cluster_unlock_keys.h): the encoding round-trips and
// refuses malformed data, and NextUnlockKeys follows Docker's UpdateCluster rules, with the
// previous key's deadline taken from the injected time plus the grace.
#include "manager/unlockkeys/cluster_unlock_keys.h"

#include <gtest/gtest.h>

#include "testing/fake_clock.h"

namespace capsule::unlockkeys {
namespace {

SecretBytes Key(char c) { return SecretBytes::CopyFrom(std::string(32, c)); }

class NextUnlockKeysTest : public ::testing::Test {
 protected:
  bool Next(bool autolock, bool rotate, const SecretBytes* adopt = nullptr) {
    UnlockKeyRequest r{autolock, rotate, clock_.Now(), std::chrono::seconds(600), adopt};
    return NextUnlockKeys(keys_, r, [this] { return Key(static_cast<char>('a' + made_++)); });
  }
  testing::FakeClock clock_;
  std::optional<ClusterUnlockKeys> keys_;
  int made_ = 0;
};

TEST(ClusterUnlockKeysCodec, RoundTripsWithAndWithoutAPreviousKey) {
  ClusterUnlockKeys k{Key('x'), SecretBytes(), 0};
  StatusOr<std::optional<ClusterUnlockKeys>> back = DecodeUnlockKeys(EncodeUnlockKeys(k.Copy()));
  ASSERT_TRUE(back.ok() && back->has_value()) << back.status();
  EXPECT_TRUE((*back)->current.Equals(k.current.span()));
  EXPECT_TRUE((*back)->previous.empty());
  ClusterUnlockKeys r{Key('n'), Key('o'), 1800000600};
  back = DecodeUnlockKeys(EncodeUnlockKeys(r.Copy()));
  ASSERT_TRUE(back.ok() && back->has_value()) << back.status();
  EXPECT_TRUE((*back)->current.Equals(r.current.span()));
  EXPECT_TRUE((*back)->previous.Equals(r.previous.span()));
  EXPECT_EQ((*back)->previous_until, 1800000600);
}

TEST(ClusterUnlockKeysCodec, NoKeysIsEmptyData) {
  EXPECT_TRUE(EncodeUnlockKeys(std::nullopt).empty());
  StatusOr<std::optional<ClusterUnlockKeys>> back = DecodeUnlockKeys(SecretBytes());
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->has_value());
}

TEST(ClusterUnlockKeysCodec, MalformedDataIsDataLoss) {
  for (const std::string& bad :
       {std::string("CUK1short"), std::string(44, 'x'), "CUK1" + std::string(50, 'x')}) {
    EXPECT_EQ(DecodeUnlockKeys(SecretBytes::CopyFrom(bad)).status().code(),
              absl::StatusCode::kDataLoss)
        << bad.size();
  }
}

TEST_F(NextUnlockKeysTest, AutolockOnMakesAKeyOnce) {
  EXPECT_TRUE(Next(true, false));
  ASSERT_TRUE(keys_);
  EXPECT_TRUE(keys_->current.Equals(Key('a').span()));
  EXPECT_TRUE(keys_->previous.empty());
  EXPECT_FALSE(Next(true, false));  // already on: the same key
  EXPECT_TRUE(keys_->current.Equals(Key('a').span()));
}

TEST_F(NextUnlockKeysTest, AutolockOnAdoptsAManagersOwnKey) {
  SecretBytes own = Key('m');
  EXPECT_TRUE(Next(true, false, &own));
  EXPECT_TRUE(keys_->current.Equals(own.span()));
  EXPECT_EQ(made_, 0);
  SecretBytes none;
  keys_.reset();
  EXPECT_TRUE(Next(true, false, &none));  // nothing to adopt: a new key
  EXPECT_TRUE(keys_->current.Equals(Key('a').span()));
}

TEST_F(NextUnlockKeysTest, RotationKeepsThePreviousKeyUntilNowPlusGrace) {
  Next(true, false);
  EXPECT_TRUE(Next(true, true));
  EXPECT_TRUE(keys_->current.Equals(Key('b').span()));
  EXPECT_TRUE(keys_->previous.Equals(Key('a').span()));
  EXPECT_EQ(keys_->previous_until, UnixSeconds(clock_.Now()) + 600);
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_TRUE(Next(true, true));  // only one previous key: the newest replaced one
  EXPECT_TRUE(keys_->current.Equals(Key('c').span()));
  EXPECT_TRUE(keys_->previous.Equals(Key('b').span()));
  EXPECT_EQ(keys_->previous_until, UnixSeconds(clock_.Now()) + 600);
}

TEST_F(NextUnlockKeysTest, AutolockOffDropsTheKeysAndRotateAloneDoesNothing) {
  EXPECT_FALSE(Next(false, true));  // off + rotate: silently nothing, as Docker
  EXPECT_FALSE(keys_);
  Next(true, false);
  Next(true, true);
  EXPECT_TRUE(Next(false, false));
  EXPECT_FALSE(keys_);
  EXPECT_TRUE(Next(true, false));  // on again: a new key, no previous one
  EXPECT_TRUE(keys_->current.Equals(Key('c').span()));
  EXPECT_TRUE(keys_->previous.empty());
}

}  // namespace
}  // namespace capsule::unlockkeys
