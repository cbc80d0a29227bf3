// The store and read model against a real etcd member.
#include <gtest/gtest.h>

#include <thread>

#include "crypto/random.h"
#include "objects/objects.h"
#include "store/etcd/etcd_test_env.h"
#include "store/keys.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::store {
namespace {

using etcd::testing::EtcdTest;

class StoreTest : public EtcdTest {
 protected:
  void SetUp() override {
    EtcdTest::SetUp();
    keyring_ = crypto::Keyring::Generate();
    store_ = NewEtcdStore(*client_, keyring_);
  }

  Record SecretRecord(const std::string& id, const std::string& name, std::string_view data) {
    Secret s;
    s.id = id;
    s.name = name;
    return Record{EncodeSecretMeta(s), SecretBytes::CopyFrom(data)};
  }

  crypto::Keyring keyring_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CreateThenGetRoundTripsMetaAndData) {
  ASSERT_TRUE(store_->Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "s3cr3t")).ok());
  StatusOr<StoredRecord> got = store_->Get(kSecretsKind, "id1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->record.data.view(), "s3cr3t");
  EXPECT_EQ(DecodeSecretMeta(got->record.meta)->name, "pw");
  EXPECT_GT(got->mod_revision, 0);
  EXPECT_EQ(got->create_revision, got->mod_revision);
}

TEST_F(StoreTest, NamesAreUniqueCaseInsensitively) {
  ASSERT_TRUE(store_->Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "a")).ok());
  Status dup = store_->Create({kSecretsKind, "id2", "PW"}, SecretRecord("id2", "PW", "b")).status();
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->Get(kSecretsKind, "id2").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, DeleteFreesTheName) {
  StatusOr<int64_t> rev = store_->Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "a"));
  ASSERT_TRUE(rev.ok());
  ASSERT_TRUE(store_->Delete({kSecretsKind, "id1", "pw"}, *rev).ok());
  EXPECT_TRUE(store_->Create({kSecretsKind, "id2", "pw"}, SecretRecord("id2", "pw", "b")).ok());
}

TEST_F(StoreTest, UpdateWithStaleRevisionIsAborted) {
  StatusOr<int64_t> rev = store_->Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "a"));
  ASSERT_TRUE(rev.ok());
  StatusOr<int64_t> rev2 = store_->Update({kSecretsKind, "id1", "pw"}, *rev, SecretRecord("id1", "pw", "a"));
  ASSERT_TRUE(rev2.ok()) << rev2.status();
  EXPECT_GT(*rev2, *rev);
  Status stale = store_->Update({kSecretsKind, "id1", "pw"}, *rev, SecretRecord("id1", "pw", "a")).status();
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  Status gone = store_->Update({kSecretsKind, "nope", "x"}, 1, SecretRecord("nope", "x", "a")).status();
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, ValuesInEtcdAreSealedAndNamesHashed) {
  ASSERT_TRUE(store_->Create({kSecretsKind, "id1", "canaryname"},
                             SecretRecord("id1", "canaryname", "CANARYVALUE")).ok());
  StatusOr<etcd::RangeResult> all = client_->Range("/", "\xff");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->kvs.size(), 2u);  // object + name key
  for (const etcd::KeyValue& kv : all->kvs) {
    EXPECT_EQ(kv.key.find("canaryname"), std::string::npos) << kv.key;
    EXPECT_EQ(kv.value.find("canaryname"), std::string::npos);
    EXPECT_EQ(kv.value.find("CANARYVALUE"), std::string::npos);
  }
}

TEST_F(StoreTest, TamperedValueIsDetected) {
  ASSERT_TRUE(store_->Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "s3cr3t")).ok());
  const std::string key = ObjectKey(kSecretsKind, "id1");
  StatusOr<etcd::RangeResult> r = client_->Range(key, "");
  ASSERT_TRUE(r.ok());
  std::string value = r->kvs.front().value;
  value[value.size() - 1] ^= 0x01;
  ASSERT_TRUE(client_->Put(key, value).ok());
  EXPECT_EQ(store_->Get(kSecretsKind, "id1").status().code(), absl::StatusCode::kDataLoss);

  // A valid value copied to another key is also refused (the key is associated data).
  ASSERT_TRUE(store_->Create({kSecretsKind, "id2", "other"}, SecretRecord("id2", "other", "x")).ok());
  StatusOr<etcd::RangeResult> r2 = client_->Range(ObjectKey(kSecretsKind, "id2"), "");
  ASSERT_TRUE(client_->Put(key, r2->kvs.front().value).ok());
  EXPECT_EQ(store_->Get(kSecretsKind, "id1").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(StoreTest, ReadModelFollowsWritesAndReadsItsOwnWrites) {
  ReadModel reads(*store_);
  ASSERT_TRUE(store_->Create({kSecretsKind, "a1", "before"}, SecretRecord("a1", "before", "x")).ok());
  ASSERT_TRUE(reads.Start().ok());
  EXPECT_NE(reads.SecretByName("BEFORE"), nullptr);
  for (int i = 0; i < 50; ++i) {
    const std::string id = "b" + std::to_string(i);
    ASSERT_TRUE(store_->Create({kSecretsKind, id, "n" + std::to_string(i)},
                               SecretRecord(id, "n" + std::to_string(i), "x")).ok());
    ASSERT_TRUE(reads.WaitFresh().ok());
    SecretEntry e = reads.SecretById(id);
    ASSERT_NE(e, nullptr) << "write " << i << " not visible after WaitFresh";
    EXPECT_EQ(e->mod_revision, store_->LastWrittenRevision());
    EXPECT_NE(e->json.find("\"Index\":" + std::to_string(e->mod_revision)), std::string::npos);
  }
  SecretEntry b0 = reads.SecretById("b0");
  ASSERT_TRUE(store_->Delete({kSecretsKind, "b0", "n0"}, b0->mod_revision).ok());
  ASSERT_TRUE(reads.WaitFresh().ok());
  EXPECT_EQ(reads.SecretById("b0"), nullptr);
  EXPECT_EQ(reads.SecretByName("n0"), nullptr);
  EXPECT_EQ(reads.Secrets().size(), 50u);
  reads.Stop();
}

TEST_F(StoreTest, ReadModelRecoversWhenEtcdRestarts) {
  ReadModel reads(*store_);
  ASSERT_TRUE(reads.Start().ok());
  supervisor_->Stop();
  ASSERT_TRUE(supervisor_->Start(std::chrono::seconds(30)).ok());
  // Writes through the same client after the member restarted reach the read model.
  StatusOr<int64_t> rev;
  ASSERT_TRUE(etcd::testing::WaitFor(
      [&] {
        rev = store_->Create({kSecretsKind, "c1", "after"}, SecretRecord("c1", "after", "x"));
        return rev.ok();
      },
      std::chrono::seconds(20)));
  ASSERT_TRUE(reads.WaitFor(*rev, std::chrono::seconds(20)).ok());
  EXPECT_NE(reads.SecretById("c1"), nullptr);
  reads.Stop();
}

TEST_F(StoreTest, KeyringIsStoredOnceAndReloadedWithTheKek) {
  SecretBytes kek = crypto::RandomKey(32);
  StatusOr<crypto::Keyring> first = LoadOrStoreKeyring(*client_, kek, crypto::Keyring::Generate());
  ASSERT_TRUE(first.ok());
  StatusOr<crypto::Keyring> again = LoadOrStoreKeyring(*client_, kek, crypto::Keyring::Generate());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(first->NameIndex("pw"), again->NameIndex("pw"));
  SecretBytes wrong = crypto::RandomKey(32);
  EXPECT_EQ(LoadOrStoreKeyring(*client_, wrong, crypto::Keyring::Generate()).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace capsule::store
