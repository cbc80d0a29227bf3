// Test fixture shared by the datakeys tests: a real etcd member, the swarm's keyring stored in
// it under a random KEK, two managers (m1, m2) each with its own in-memory keyring, store and
// KeyringSync, a leader fence, and helpers to fill every sealed keyspace and scan etcd raw.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audit/etcd_log.h"
#include "crypto/keyring.h"
#include "manager/datakeys/keyring_sync.h"
#include "manager/datakeys/resealer.h"
#include "manager/datakeys/rotation.h"
#include "store/etcd/etcd_test_env.h"
#include "store/store.h"

namespace capsule::datakeys::testing {

struct TestManager {
  std::string node_id;
  crypto::Keyring keyring;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<KeyringSync> sync;
  std::unique_ptr<audit::EtcdLog> audit;
};

class DataKeysTest : public etcd::testing::EtcdTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A manager with its keyring loaded from etcd and its sync started.
  std::unique_ptr<TestManager> NewManager(const std::string& node_id);

  // Writes objects of every kind (named secrets and configs → name keys too) and audit events;
  // returns object key → its data.
  std::map<std::string, std::string> FillEveryKeyspace(TestManager& m, int per_kind);

  // key → key id of every value under kSealedPrefixes, read raw.
  std::map<std::string, uint32_t> SealedKeyIds();
  // The key ids of the keyring stored in etcd.
  std::vector<uint32_t> StoredKeyIds();

  Resealer NewResealer(TestManager& m, ResealerOptions options = FastOptions(),
                       std::vector<std::string> managers = {"m1", "m2"});
  static ResealerOptions FastOptions();

  SecretBytes kek_;
  store::Fence fence_;
  std::unique_ptr<TestManager> m1_;
  std::unique_ptr<TestManager> m2_;
};

}  // namespace capsule::datakeys::testing
