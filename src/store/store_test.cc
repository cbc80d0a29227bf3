// What only the etcd store does (sealed values, hashed names, the keyring) and the read model
// against a real etcd member. The Store contract itself: store_conformance_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "crypto/random.h"
#include "objects/objects.h"
#include "objects/service.h"
#include "store/etcd/etcd_test_env.h"
#include "store/etcd_store.h"
#include "store/keys.h"
#include "store/read_model.h"

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

TEST_F(StoreTest, ValuesInEtcdAreSealedAndNamesHashed) {
  ASSERT_TRUE(store_
                  ->Create({kSecretsKind, "id1", "canaryname"},
                           SecretRecord("id1", "canaryname", "CANARYVALUE"))
                  .ok());
  StatusOr<etcd::RangeResult> all = client_->Range("/", "\xff");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->kvs.size(), 2u);  // object + name key
  for (const etcd::KeyValue& kv : all->kvs) {
    EXPECT_EQ(kv.key.find("canaryname"), std::string::npos) << kv.key;
    EXPECT_EQ(kv.value.find("canaryname"), std::string::npos);
    EXPECT_EQ(kv.value.find("CANARYVALUE"), std::string::npos);
  }
}

// Side writes (store.h: SideWrite) go in the write's own Txn, sealed; with a failed write,
// none of them is stored; outside the audit prefix they are refused and nothing is written.
TEST_F(StoreTest, SideWritesAreStoredSealedWithTheirWriteOrNotAtAll) {
  // A secret's create carrying one side write; its answer.
  auto create_with = [&](const std::string& id, const std::string& name, const std::string& key,
                         const std::string& value) {
    std::vector<WriteRequest> one;
    one.push_back({WriteRequest::Kind::kCreate,
                   {kSecretsKind, id, name},
                   0,
                   SecretRecord(id, name, "x"),
                   {{key, value}}});
    return store_->WriteBatch(std::move(one)).front();
  };
  const std::string side_key = std::string(kAuditPrefix) + "e1";
  StatusOr<int64_t> rev = create_with("id1", "pw", side_key, "CANARYEVENT");
  ASSERT_TRUE(rev.ok()) << rev.status();
  StatusOr<etcd::RangeResult> r = client_->Range(side_key, "");
  ASSERT_TRUE(r.ok() && r->kvs.size() == 1);
  EXPECT_EQ(r->kvs[0].mod_revision, *rev);
  EXPECT_EQ(r->kvs[0].value.find("CANARYEVENT"), std::string::npos);
  StatusOr<SecretBytes> opened = keyring_.Open(side_key, r->kvs[0].value);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->view(), "CANARYEVENT");

  // The same name again: AlreadyExists, and its side write is not stored.
  const std::string lost_key = std::string(kAuditPrefix) + "e2";
  EXPECT_TRUE(absl::IsAlreadyExists(create_with("id2", "PW", lost_key, "x").status()));
  r = client_->Range(lost_key, "");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->kvs.empty());

  // Outside the audit prefix (the keyring's key, the bare prefix, an object's key): refused,
  // nothing written.
  for (const std::string& bad :
       {std::string(kKeyringKey), std::string(kAuditPrefix), ObjectKey(kSecretsKind, "id1")}) {
    EXPECT_TRUE(absl::IsInvalidArgument(create_with("id3", "other", bad, "x").status())) << bad;
    EXPECT_TRUE(absl::IsNotFound(store_->Get(kSecretsKind, "id3").status())) << bad;
  }
  r = client_->Range(kKeyringKey, "");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->kvs.empty());
}

TEST_F(StoreTest, TamperedValueIsDetected) {
  ASSERT_TRUE(
      store_->Create({kSecretsKind, "id1", "pw"}, SecretRecord("id1", "pw", "s3cr3t")).ok());
  const std::string key = ObjectKey(kSecretsKind, "id1");
  StatusOr<etcd::RangeResult> r = client_->Range(key, "");
  ASSERT_TRUE(r.ok());
  std::string value = r->kvs.front().value;
  value[value.size() - 1] ^= 0x01;
  ASSERT_TRUE(client_->Put(key, value).ok());
  EXPECT_EQ(store_->Get(kSecretsKind, "id1").status().code(), absl::StatusCode::kDataLoss);

  // A valid value copied to another key is also refused (the key is associated data).
  ASSERT_TRUE(
      store_->Create({kSecretsKind, "id2", "other"}, SecretRecord("id2", "other", "x")).ok());
  StatusOr<etcd::RangeResult> r2 = client_->Range(ObjectKey(kSecretsKind, "id2"), "");
  ASSERT_TRUE(client_->Put(key, r2->kvs.front().value).ok());
  EXPECT_EQ(store_->Get(kSecretsKind, "id1").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(StoreTest, ReadModelFollowsWritesAndReadsItsOwnWrites) {
  ReadModel reads(*store_);
  ASSERT_TRUE(
      store_->Create({kSecretsKind, "a1", "before"}, SecretRecord("a1", "before", "x")).ok());
  ASSERT_TRUE(reads.Start().ok());
  EXPECT_NE(reads.SecretByName("BEFORE"), nullptr);
  for (int i = 0; i < 50; ++i) {
    const std::string id = "b" + std::to_string(i);
    ASSERT_TRUE(store_
                    ->Create({kSecretsKind, id, "n" + std::to_string(i)},
                             SecretRecord(id, "n" + std::to_string(i), "x"))
                    .ok());
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

TEST_F(StoreTest, ReadModelAppliesObjectsThatShareARevision) {
  ReadModel reads(*store_);
  ASSERT_TRUE(reads.Start().ok());
  std::vector<WriteRequest> batch;
  for (int i = 0; i < 40; ++i) {
    const std::string id = "g" + std::to_string(i);
    batch.push_back(WriteRequest{WriteRequest::Kind::kCreate,
                                 {kSecretsKind, id, "name-" + id},
                                 0,
                                 SecretRecord(id, "name-" + id, "x"),
                                 {}});
  }
  const std::vector<StatusOr<int64_t>> r = store_->WriteBatch(std::move(batch));
  ASSERT_EQ(r.size(), 40u);
  for (const auto& x : r) {
    ASSERT_TRUE(x.ok()) << x.status();
    EXPECT_EQ(*x, *r[0]);  // 80 ops: one Txn within etcd's 128, one revision
  }
  ASSERT_TRUE(reads.WaitFresh().ok());
  EXPECT_EQ(reads.applied_revision(), *r[0]);
  ASSERT_EQ(reads.Secrets().size(), 40u);
  for (const SecretEntry& e : reads.Secrets()) {
    EXPECT_EQ(e->mod_revision, *r[0]);
    EXPECT_EQ(reads.SecretByName("NAME-" + e->object.id), e);
  }
  // A later write to one of them applies on top of the shared revision.
  const size_t before = reads.Secrets().size();
  ASSERT_TRUE(store_->Delete({kSecretsKind, "g0", "name-g0"}, *r[0]).ok());
  ASSERT_TRUE(reads.WaitFresh().ok());
  EXPECT_EQ(reads.Secrets().size(), before - 1);
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

Record ServiceRecord(const std::string& id, const std::string& name) {
  Service s;
  s.id = id;
  s.spec.name = name;
  s.spec.task_template.container.image = "busybox";
  return Record{EncodeServiceMeta(s), {}};
}

Record TaskRecord(const std::string& id, const std::string& service, const std::string& node,
                  uint64_t slot) {
  Task t;
  t.id = id;
  t.service_id = service;
  t.node_id = node;
  t.slot = slot;
  t.spec_version = 5;
  return Record{EncodeTaskMeta(t), {}};
}

TEST_F(StoreTest, ReadModelIndexesServicesAndTasks) {
  ReadModel reads(*store_);
  ASSERT_TRUE(store_->Create({kServicesKind, "s1", "App"}, ServiceRecord("s1", "App")).ok());
  ASSERT_TRUE(reads.Start().ok());
  ASSERT_NE(reads.ServiceByName("app"), nullptr);  // from the initial list
  ASSERT_TRUE(store_->Create({kServicesKind, "s2", "db"}, ServiceRecord("s2", "db")).ok());
  EXPECT_EQ(store_->Create({kServicesKind, "s3", "DB"}, ServiceRecord("s3", "DB")).status().code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(store_->Create({kTasksKind, "t1", ""}, TaskRecord("t1", "s1", "n1", 1)).ok());
  ASSERT_TRUE(store_->Create({kTasksKind, "t2", ""}, TaskRecord("t2", "s1", "n2", 2)).ok());
  ASSERT_TRUE(store_->Create({kTasksKind, "t3", ""}, TaskRecord("t3", "s2", "n1", 1)).ok());
  ASSERT_TRUE(store_->Create({kTasksKind, "t4", ""}, TaskRecord("t4", "s2", "", 2)).ok());
  ASSERT_TRUE(reads.WaitFresh().ok());

  ServiceEntry db = reads.ServiceByName("DB");
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(db->object.id, "s2");
  EXPECT_EQ(reads.ServiceById("s1")->object.spec.name, "App");
  EXPECT_EQ(reads.Services().size(), 2u);
  EXPECT_EQ(db->json, ServiceJson(db->object, db->mod_revision).dump());
  // Stored without a spec version (0 = "this write"): the model pins it to the write's revision.
  EXPECT_EQ(db->object.spec_version, db->mod_revision);

  auto ids = [](const std::vector<TaskEntry>& v) {
    std::string out;
    for (const TaskEntry& e : v) out += e->object.id + ",";
    return out;
  };
  EXPECT_EQ(ids(reads.Tasks()), "t1,t2,t3,t4,");
  EXPECT_EQ(ids(reads.TasksOfService("s1")), "t1,t2,");
  EXPECT_EQ(ids(reads.TasksOfService("s2")), "t3,t4,");
  EXPECT_EQ(ids(reads.TasksOnNode("n1")), "t1,t3,");
  EXPECT_EQ(ids(reads.TasksOnNode("")), "");
  TaskEntry t1 = reads.TaskById("t1");
  ASSERT_NE(t1, nullptr);
  EXPECT_EQ(t1->object.spec_version, 5);
  EXPECT_NE(t1->json.find("\"Index\":" + std::to_string(t1->mod_revision)), std::string::npos);
  EXPECT_EQ(t1->json.find("SpecVersion"), std::string::npos);

  // A task moves to another node: both node indexes follow.
  ASSERT_TRUE(store_
                  ->Update({kTasksKind, "t4", ""}, reads.TaskById("t4")->mod_revision,
                           TaskRecord("t4", "s2", "n2", 2))
                  .ok());
  // Deleting a task and a service updates every index, the name included.
  ASSERT_TRUE(store_->Delete({kTasksKind, "t1", ""}, 0).ok());
  ASSERT_TRUE(store_->Delete({kServicesKind, "s1", "App"}, 0).ok());
  ASSERT_TRUE(reads.WaitFresh().ok());
  EXPECT_EQ(ids(reads.TasksOnNode("n2")), "t2,t4,");
  EXPECT_EQ(ids(reads.TasksOnNode("n1")), "t3,");
  EXPECT_EQ(ids(reads.TasksOfService("s1")), "t2,");
  EXPECT_EQ(reads.TaskById("t1"), nullptr);
  EXPECT_EQ(reads.ServiceByName("app"), nullptr);
  EXPECT_EQ(reads.ServiceById("s1"), nullptr);
  reads.Stop();
}

TEST_F(StoreTest, ReadModelNotifiesSubscribersAfterEachBatch) {
  ReadModel reads(*store_);
  std::mutex mu;
  std::condition_variable cv;
  int64_t seen = 0;
  ASSERT_TRUE(reads.Start().ok());
  ReadModel::SubscriptionId sub = reads.Subscribe([&](int64_t rev) {
    // The model already shows the batch when the callback runs.
    EXPECT_GE(reads.applied_revision(), rev);
    std::lock_guard<std::mutex> lock(mu);
    seen = std::max(seen, rev);
    cv.notify_all();
  });
  StatusOr<int64_t> rev = store_->Create({kServicesKind, "s1", "a"}, ServiceRecord("s1", "a"));
  ASSERT_TRUE(rev.ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen >= *rev; }));
  }
  EXPECT_NE(reads.ServiceById("s1"), nullptr);
  reads.Unsubscribe(sub);
  const int64_t before = seen;
  // A subscriber that stays: callbacks run in subscription order, so once it has seen the
  // next batch, the first one would have too had it still been subscribed.
  int64_t later_seen = 0;
  ReadModel::SubscriptionId later = reads.Subscribe([&](int64_t r) {
    std::lock_guard<std::mutex> lock(mu);
    later_seen = std::max(later_seen, r);
    cv.notify_all();
  });
  StatusOr<int64_t> rev2 = store_->Create({kServicesKind, "s2", "b"}, ServiceRecord("s2", "b"));
  ASSERT_TRUE(rev2.ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return later_seen >= *rev2; }));
    EXPECT_EQ(seen, before) << "an unsubscribed callback ran";
  }
  reads.Unsubscribe(later);
  reads.Stop();
}

TEST_F(StoreTest, ReadModelKeepsNotifyingAcrossAnEtcdRestart) {
  ReadModel reads(*store_);
  ASSERT_TRUE(reads.Start().ok());
  std::atomic<int64_t> seen{0};
  ReadModel::SubscriptionId sub = reads.Subscribe([&](int64_t rev) { seen = rev; });
  supervisor_->Stop();
  ASSERT_TRUE(supervisor_->Start(std::chrono::seconds(30)).ok());
  StatusOr<int64_t> rev;
  ASSERT_TRUE(etcd::testing::WaitFor(
      [&] {
        rev = store_->Create({kServicesKind, "s9", "late"}, ServiceRecord("s9", "late"));
        return rev.ok();
      },
      std::chrono::seconds(20)));
  ASSERT_TRUE(
      etcd::testing::WaitFor([&] { return seen.load() >= *rev; }, std::chrono::seconds(20)));
  EXPECT_NE(reads.ServiceByName("LATE"), nullptr);
  reads.Unsubscribe(sub);
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
