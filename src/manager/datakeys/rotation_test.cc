// DataKeyRotation (the API side) against a real etcd member: begin, refusal of a second one,
// the state shown, the keyring staying wrapped under the KEK.
#include "manager/datakeys/rotation.h"

#include <gtest/gtest.h>

#include "crypto/random.h"
#include "manager/datakeys/datakeys_test_env.h"
#include "manager/datakeys/resealer.h"
#include "store/keys.h"

namespace capsule::datakeys {
namespace {

using testing::DataKeysTest;

TEST_F(DataKeysTest, StateWithOneKeyShowsNoRotation) {
  DataKeyRotation rotation(*client_, kek_, *m1_->sync);
  StatusOr<DataKeyState> s = rotation.State();
  ASSERT_OK(s.status());
  EXPECT_EQ(s->current, 1u);
  EXPECT_EQ(s->key_ids, std::vector<uint32_t>{1});
  EXPECT_FALSE(s->rotation.has_value());
  EXPECT_FALSE(s->last.has_value());
}

TEST_F(DataKeysTest, BeginMakesANewKeyCurrentAndShowsTheRotationStarting) {
  DataKeyRotation rotation(*client_, kek_, *m1_->sync);
  StatusOr<DataKeyState> s = rotation.Begin();
  ASSERT_OK(s.status());
  EXPECT_EQ(s->current, 2u);
  EXPECT_EQ(s->key_ids, (std::vector<uint32_t>{1, 2}));
  ASSERT_TRUE(s->rotation.has_value());
  EXPECT_EQ(s->rotation->target, 2u);
  EXPECT_EQ(s->rotation->retiring, std::vector<uint32_t>{1});
  EXPECT_EQ(s->rotation->phase, "starting");
}

TEST_F(DataKeysTest, ASecondBeginWhileOneRunsIsRefused) {
  DataKeyRotation rotation(*client_, kek_, *m1_->sync);
  ASSERT_OK(rotation.Begin().status());
  DataKeyRotation other(*client_, kek_, *m2_->sync);
  StatusOr<DataKeyState> s = other.Begin();
  EXPECT_EQ(s.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(s.status().message().find(kRotationInProgress), std::string::npos);
  EXPECT_EQ(StoredKeyIds(), (std::vector<uint32_t>{1, 2}));
}

TEST_F(DataKeysTest, AfterARotationTheStateShowsTheLastOneAndANewOneMayBegin) {
  DataKeyRotation rotation(*client_, kek_, *m1_->sync);
  ASSERT_OK(rotation.Begin().status());
  Resealer r = NewResealer(*m1_);
  ASSERT_OK(r.RunOnce());
  StatusOr<DataKeyState> s = rotation.State();
  ASSERT_OK(s.status());
  EXPECT_EQ(s->current, 2u);
  EXPECT_FALSE(s->rotation.has_value());
  ASSERT_TRUE(s->last.has_value());
  EXPECT_EQ(s->last->phase, "done");
  StatusOr<DataKeyState> again = rotation.Begin();
  ASSERT_OK(again.status());
  EXPECT_EQ(again->current, 3u);
  EXPECT_EQ(again->key_ids, (std::vector<uint32_t>{2, 3}));
}

TEST_F(DataKeysTest, TheStoredKeyringStaysWrappedUnderTheKek) {
  DataKeyRotation rotation(*client_, kek_, *m1_->sync);
  ASSERT_OK(rotation.Begin().status());
  StatusOr<etcd::RangeResult> r = client_->Range(store::kKeyringKey, "");
  ASSERT_OK(r.status());
  EXPECT_TRUE(crypto::Keyring::Unwrap(kek_, r->kvs.front().value).ok());
  EXPECT_EQ(crypto::Keyring::Unwrap(crypto::RandomKey(32), r->kvs.front().value).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(DataKeyStateJson, RoundTrips) {
  DataKeyState s;
  s.current = 3;
  s.key_ids = {2, 3};
  ResealProgress p;
  p.target = 3;
  p.retiring = {2};
  p.phase = "resealing";
  p.visited = 5;
  p.resealed = 4;
  p.total = 9;
  p.prefix = 1;
  p.after = "/capsule/v1/names/secrets/ab";
  s.rotation = p;
  StatusOr<DataKeyState> back = DecodeState(EncodeState(s));
  ASSERT_OK(back.status());
  EXPECT_EQ(back->current, 3u);
  ASSERT_TRUE(back->rotation.has_value());
  EXPECT_EQ(back->rotation->after, p.after);
  EXPECT_EQ(back->rotation->visited, 5);
  EXPECT_FALSE(back->last.has_value());
  EXPECT_EQ(DecodeState("[1]").status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace capsule::datakeys
