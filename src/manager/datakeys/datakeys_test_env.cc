#include "manager/datakeys/datakeys_test_env.h"

#include "common/clock.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "manager/datakeys/keyspaces.h"
#include "objects/objects.h"
#include "store/etcd_store.h"
#include "store/keys.h"

namespace capsule::datakeys::testing {

void DataKeysTest::SetUp() {
  EtcdTest::SetUp();
  ASSERT_OK(crypto::InitCrypto());
  kek_ = crypto::RandomKey(crypto::kKeySize);
  ASSERT_OK(store::LoadOrStoreKeyring(*client_, kek_, crypto::Keyring::Generate()).status());
  StatusOr<int64_t> rev = client_->Put(store::kLeaderKey, "m1");
  ASSERT_OK(rev.status());
  StatusOr<etcd::RangeResult> leader = client_->Range(store::kLeaderKey, "");
  ASSERT_OK(leader.status());
  fence_ = {store::kLeaderKey, leader->kvs.front().create_revision};
  m1_ = NewManager("m1");
  m2_ = NewManager("m2");
}

void DataKeysTest::TearDown() {
  for (auto* m : {&m1_, &m2_}) {
    if (*m && (*m)->sync) (*m)->sync->Stop();
  }
  m1_.reset();
  m2_.reset();
  EtcdTest::TearDown();
}

std::unique_ptr<TestManager> DataKeysTest::NewManager(const std::string& node_id) {
  auto m = std::make_unique<TestManager>();
  m->node_id = node_id;
  StatusOr<crypto::Keyring> k = store::LoadKeyring(*client_, kek_);
  EXPECT_TRUE(k.ok()) << k.status();
  if (k.ok()) m->keyring = *std::move(k);
  m->store = store::NewEtcdStore(*client_, m->keyring);
  m->audit = std::make_unique<audit::EtcdLog>(*client_, m->keyring);
  m->sync = std::make_unique<KeyringSync>(*client_, m->keyring, kek_, node_id, RealClock());
  Status s = m->sync->Start();
  EXPECT_TRUE(s.ok()) << s;
  return m;
}

std::map<std::string, std::string> DataKeysTest::FillEveryKeyspace(TestManager& m, int per_kind) {
  std::map<std::string, std::string> data;
  const std::vector<std::pair<std::string, bool>> kinds = {
      {kSecretsKind, true},  {kConfigsKind, true}, {"secretversions", false}, {"services", false},
      {"tasks", false},      {kNodesKind, false},  {kClusterKind, false},     {kCaKind, false},
      {"digestkeys", false}, {"networks", false},  {"pullauths", false}};
  for (const auto& [kind, named] : kinds) {
    for (int i = 0; i < per_kind; ++i) {
      const std::string id = kind + "-" + std::to_string(i);
      const std::string value = "data of " + id;
      store::ObjectRef ref{kind, id, named ? "name-" + id : ""};
      StatusOr<int64_t> r =
          m.store->Create(ref, {"{\"ID\":\"" + id + "\"}", SecretBytes::CopyFrom(value)});
      EXPECT_TRUE(r.ok()) << r.status();
      data[store::ObjectKey(kind, id)] = value;
    }
  }
  std::vector<audit::Event> events;
  for (int i = 0; i < per_kind; ++i) {
    audit::Event e;
    e.time = RealClock().Now();
    e.action = audit::Action::kCreate;
    e.secret_id = "secrets-" + std::to_string(i);
    e.secret_name = "name-secrets-" + std::to_string(i);
    e.recorded_by = m.node_id;
    e.key = audit::EventKey(audit::UnixNanos(e.time), m.node_id, static_cast<uint64_t>(i));
    events.push_back(std::move(e));
  }
  EXPECT_TRUE(m.audit->Append(events).ok());
  return data;
}

std::map<std::string, uint32_t> DataKeysTest::SealedKeyIds() {
  std::map<std::string, uint32_t> out;
  for (std::string_view prefix : kSealedPrefixes) {
    const std::string p(prefix);
    StatusOr<etcd::RangeResult> r = client_->Range(p, etcd::PrefixEnd(p));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) continue;
    for (const etcd::KeyValue& kv : r->kvs) {
      StatusOr<uint32_t> id = crypto::SealedKeyId(kv.value);
      out[kv.key] = id.ok() ? *id : 0;
    }
  }
  return out;
}

std::vector<uint32_t> DataKeysTest::StoredKeyIds() {
  StatusOr<StoredKeyring> k = ReadKeyring(*client_, kek_);
  EXPECT_TRUE(k.ok()) << k.status();
  return k.ok() ? k->keyring.key_ids() : std::vector<uint32_t>{};
}

ResealerOptions DataKeysTest::FastOptions() {
  ResealerOptions o;
  o.period = std::chrono::milliseconds(20);
  o.read_batch = 8;
  o.ack_timeout = std::chrono::seconds(5);
  o.settle = std::chrono::milliseconds(0);
  return o;
}

Resealer DataKeysTest::NewResealer(TestManager& m, ResealerOptions options,
                                   std::vector<std::string> managers) {
  return Resealer(
      *client_, m.keyring, *m.sync, kek_, fence_,
      [managers]() -> StatusOr<std::vector<std::string>> { return managers; }, RealClock(),
      std::move(options));
}

}  // namespace capsule::datakeys::testing
