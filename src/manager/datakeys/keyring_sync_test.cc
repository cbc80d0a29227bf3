// KeyringSync against a real etcd member: a manager follows the keyring others change (watch),
// opens a value under a key it has not loaded yet (miss → reload), records what it loaded.
#include "manager/datakeys/keyring_sync.h"

#include <gtest/gtest.h>

#include "crypto/aead.h"
#include "crypto/random.h"
#include "manager/datakeys/datakeys_test_env.h"
#include "manager/datakeys/keyspaces.h"
#include "objects/objects.h"
#include "store/etcd_store.h"
#include "store/keys.h"

namespace capsule::datakeys {
namespace {

using testing::DataKeysTest;
using testing::TestManager;

class KeyringSyncTest : public DataKeysTest {
 protected:
  int64_t Acked(const std::string& node_id) {
    StatusOr<etcd::RangeResult> r = client_->Range(kLoadedPrefix + node_id, "");
    if (!r.ok() || r->kvs.empty()) return 0;
    return std::stoll(r->kvs.front().value);
  }
};

TEST_F(KeyringSyncTest, StartLoadsTheKeyringAndRecordsItsRevision) {
  EXPECT_GT(m1_->sync->loaded_revision(), 0);
  EXPECT_EQ(Acked("m1"), m1_->sync->loaded_revision());
  EXPECT_EQ(Acked("m2"), m2_->sync->loaded_revision());
}

TEST_F(KeyringSyncTest, AManagerFollowsAKeyAnotherManagerActivated) {
  DataKeyRotation rotation(*client_, kek_, *m1_->sync);
  ASSERT_OK(rotation.Begin().status());
  EXPECT_EQ(m1_->keyring.active_key_id(), 2u);  // at once where it began
  EXPECT_TRUE(etcd::testing::WaitFor([&] { return m2_->keyring.active_key_id() == 2u; },
                                     std::chrono::seconds(5)));
  EXPECT_EQ(m2_->keyring.key_ids(), (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(etcd::testing::WaitFor([&] { return Acked("m2") == m1_->sync->loaded_revision(); },
                                     std::chrono::seconds(5)));
  // m2's new writes seal under key 2.
  ASSERT_OK(
      m2_->store->Create({kSecretsKind, "s", "s"}, {"{}", SecretBytes::CopyFrom("v")}).status());
  EXPECT_EQ(SealedKeyIds()[store::ObjectKey(kSecretsKind, "s")], 2u);
}

TEST_F(KeyringSyncTest, AnUnknownKeyIdMakesOpenReloadOnce) {
  // m3's keyring is loaded but not followed: only its miss handler can bring key 2.
  crypto::Keyring k3;
  {
    StatusOr<crypto::Keyring> k = store::LoadKeyring(*client_, kek_);
    ASSERT_OK(k.status());
    k3 = *std::move(k);
  }
  KeyringSync s3(*client_, k3, kek_, "m3", RealClock());
  int misses = 0;
  k3.SetMissHandler([&](uint32_t) {
    ++misses;
    ASSERT_OK(s3.Reload());
  });
  DataKeyRotation rotation(*client_, kek_, *m1_->sync);
  ASSERT_OK(rotation.Begin().status());
  ASSERT_OK(
      m1_->store->Create({kSecretsKind, "s", "s"}, {"{}", SecretBytes::CopyFrom("v")}).status());
  std::unique_ptr<store::Store> store3 = store::NewEtcdStore(*client_, k3);
  StatusOr<store::StoredRecord> r = store3->Get(kSecretsKind, "s");
  ASSERT_OK(r.status());
  EXPECT_EQ(r->record.data.view(), "v");
  EXPECT_EQ(misses, 1);
  EXPECT_EQ(k3.active_key_id(), 2u);
  k3.SetMissHandler(nullptr);
}

TEST_F(KeyringSyncTest, AnIdNoKeyringHasStaysDataLossAfterOneReload) {
  int misses = 0;
  m1_->keyring.SetMissHandler([&](uint32_t) { ++misses; });
  StatusOr<std::string> sealed =
      crypto::Seal(crypto::RandomKey(crypto::kKeySize), 7, "/k",
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("x"), 1));
  ASSERT_OK(sealed.status());
  EXPECT_EQ(m1_->keyring.Open("/k", *sealed).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(misses, 1);
}

TEST_F(KeyringSyncTest, AKeyRemovedFromTheStoredKeyringLeavesEveryManager) {
  DataKeyRotation rotation(*client_, kek_, *m1_->sync);
  ASSERT_OK(rotation.Begin().status());
  StatusOr<StoredKeyring> stored = ReadKeyring(*client_, kek_);
  ASSERT_OK(stored.status());
  ASSERT_OK(stored->keyring.Remove(1));
  ASSERT_OK(WriteKeyring(*client_, kek_, stored->keyring, stored->mod_revision, nullptr).status());
  for (TestManager* m : {m1_.get(), m2_.get()}) {
    EXPECT_TRUE(etcd::testing::WaitFor(
        [&] { return m->keyring.key_ids() == std::vector<uint32_t>{2}; }, std::chrono::seconds(5)))
        << m->node_id;
  }
}

}  // namespace
}  // namespace capsule::datakeys
