// The Store interface: Capsule's objects, each a Record under (kind, id), versioned by one
// global revision counter (etcd's semantics: a successful write advances the revision; a
// failed one writes nothing). Several writes may share one revision: the etcd store commits
// concurrent writes to distinct objects in one etcd transaction (group commit, and
// WriteBatch), so two objects can have the same mod_revision, the revision returned to their
// writers is the same, and a watch delivers their events together under that revision (never
// split across batches). What holds per object is unchanged: a write's revision is higher
// than every earlier revision of that object, and a reader that has seen revision R has seen
// every write whose returned revision is ≤ R. Writes to one object are never merged: they
// are applied one after another, in the order they were submitted. Implementations: the etcd
// store (store/etcd_store.h, every value sealed under the cluster DEK) and the MemoryStore
// for unit tests (store/memory_store.h); store_conformance_test.cc holds them to the same
// behaviour. Store errors carry only store-level codes; controlapi maps them to Docker's
// messages:
//   AlreadyExists  a named object's name (case-insensitive) or the ID is taken
//   NotFound       the object does not exist
//   Aborted        expected revision does not match (optimistic concurrency)
//   Unavailable    the backend (etcd) cannot be reached
//   DataLoss       a stored value failed authentication (tampered) or is malformed
// Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
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
  // Events of one or more revisions, in revision order; `revision` is the store's revision
  // when the batch was sent. Runs on a thread owned by the watch.
  std::function<void(const std::vector<ObjectEvent>& events, int64_t revision)> on_events;
  // The watch ended: OutOfRange = its start revision was compacted (list again), or the
  // backend went away (Unavailable). No callback follows.
  std::function<void(const Status& status)> on_error;
};

// A running watch. Destroying it cancels the watch and joins its thread: no callback runs
// after the destructor returns, and that cancel is not reported through on_error. Do not
// destroy a watch from inside one of its own callbacks, nor after its Store.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

// A put outside the object space that a write carries: it is committed in the write's own
// etcd Txn, so the write and it are both stored or neither. Its value is sealed like every
// value (under the cluster DEK, its key as associated data). Watches and the read model never
// see it. Only under kAuditPrefix (store/keys.h): a secret's create writes its audit event
// this way (controlapi/audited_write.h).
struct SideWrite {
  std::string key;
  std::string value;  // plaintext; the store seals it
};

// One write of Store::WriteBatch: the arguments of a Create, Update or Delete call, and the
// side writes that go with it.
struct WriteRequest {
  enum class Kind { kCreate, kUpdate, kDelete };
  Kind kind = Kind::kCreate;
  ObjectRef ref;
  int64_t expected_revision = 0;  // kUpdate, kDelete
  Record record;                  // kCreate, kUpdate
  std::vector<SideWrite> side;    // committed with the write (above)
};

class Store {
 public:
  virtual ~Store() = default;
  // Creates the object and, if ref.name is set, its name key. Returns the revision of the
  // write (as do Update and Delete).
  virtual StatusOr<int64_t> Create(const ObjectRef& ref, const Record& record) = 0;
  // Replaces the object if its mod_revision == expected_revision (a missing object's is 0,
  // so expected_revision 0 creates a missing object, without a name key). Name keys are left
  // as they are: ref.name is not used (renaming is not supported).
  virtual StatusOr<int64_t> Update(const ObjectRef& ref, int64_t expected_revision,
                                   const Record& record) = 0;
  // Deletes the object and the name key of ref.name; expected_revision 0 = whatever is
  // stored.
  virtual StatusOr<int64_t> Delete(const ObjectRef& ref, int64_t expected_revision) = 0;
  // Linearizable read of one object, opened (data included).
  virtual StatusOr<StoredRecord> Get(const std::string& kind, const std::string& id) = 0;
  // Linearizable read of every object's metadata.
  virtual StatusOr<MetaSnapshot> ListMeta() = 0;
  // Object events from start_revision (inclusive; 0 = from the next write on).
  virtual StatusOr<std::unique_ptr<WatchHandle>> WatchObjects(int64_t start_revision,
                                                              StoreWatchCallbacks callbacks) = 0;
  // Several writes at once; one answer per write, in order, each the answer the matching
  // Create/Update/Delete call would have given. Writes to one object (or one name) are
  // applied in the order given; a failed write does not stop the others. The etcd store
  // packs them into as few transactions as etcd's limits allow; the default makes one call
  // after another. A write's side writes are stored with it (etcd store); InvalidArgument for
  // a side key outside kAuditPrefix, and from the default, which cannot store side writes
  // (nothing of that write is stored).
  virtual std::vector<StatusOr<int64_t>> WriteBatch(std::vector<WriteRequest> writes);
  // Highest revision this store has written (for read-your-writes).
  virtual int64_t LastWrittenRevision() const = 0;
};

}  // namespace capsule::store
