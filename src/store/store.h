// The Store: Capsule's objects in etcd, every value sealed under the cluster DEK with its
// etcd key as associated data. One call = one etcd transaction. Store errors carry only
// store-level codes; controlapi maps them to Docker's messages:
//   AlreadyExists  a named object's name (case-insensitive) or the ID is taken
//   NotFound       the object does not exist
//   Aborted        expected revision does not match (optimistic concurrency)
//   Unavailable    etcd cannot be reached
//   DataLoss       a stored value failed authentication (tampered) or is malformed
// Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "crypto/keyring.h"
#include "store/etcd/etcd_client.h"
#include "store/record.h"

namespace capsule::store {

struct ObjectRef {
  std::string kind;
  std::string id;
  std::string name;  // "" for unnamed objects (no name key)
};

struct StoredRecord {
  Record record;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

// Metadata of one object as seen in a list or a watch (the secret data is never decoded here).
struct ObjectMeta {
  std::string kind;
  std::string id;
  std::string meta;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
};

struct ObjectEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  ObjectMeta object;  // for kDelete: kind, id and mod_revision (the deletion's revision)
};

struct MetaSnapshot {
  std::vector<ObjectMeta> objects;
  int64_t revision = 0;
};

struct StoreWatchCallbacks {
  std::function<void(const std::vector<ObjectEvent>& events, int64_t revision)> on_events;
  std::function<void(const Status& status)> on_error;  // OutOfRange = compacted: list again
};

class Store {
 public:
  virtual ~Store() = default;
  // Returns the revision of the write.
  virtual StatusOr<int64_t> Create(const ObjectRef& ref, const Record& record) = 0;
  // Replaces the object if its mod_revision == expected_revision.
  virtual StatusOr<int64_t> Update(const ObjectRef& ref, int64_t expected_revision,
                                   const Record& record) = 0;
  // Deletes the object and its name key; expected_revision 0 = whatever is stored.
  virtual StatusOr<int64_t> Delete(const ObjectRef& ref, int64_t expected_revision) = 0;
  // Linearizable read of one object, opened (data included).
  virtual StatusOr<StoredRecord> Get(const std::string& kind, const std::string& id) = 0;
  // Linearizable read of every object's metadata.
  virtual StatusOr<MetaSnapshot> ListMeta() = 0;
  // Object events from start_revision (inclusive).
  virtual StatusOr<std::unique_ptr<etcd::Watch>> WatchObjects(int64_t start_revision,
                                                              StoreWatchCallbacks callbacks) = 0;
  // Highest revision this store has written (for read-your-writes).
  virtual int64_t LastWrittenRevision() const = 0;
};

// The etcd-backed store. `client` and `keyring` must outlive it.
std::unique_ptr<Store> NewEtcdStore(etcd::Client& client, const crypto::Keyring& keyring);

// Reads the keyring from etcd (unwrapping it with kek) or, if there is none yet, stores
// `fresh` (wrapped) and returns it. DataLoss if the stored keyring does not open with kek.
StatusOr<crypto::Keyring> LoadOrStoreKeyring(etcd::Client& client, const SecretBytes& kek,
                                             crypto::Keyring fresh);

}  // namespace capsule::store
