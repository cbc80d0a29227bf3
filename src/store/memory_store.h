// An in-memory Store with the etcd store's semantics, for unit tests that need a store but
// not etcd (controlapi, orchestrator, read model): one global revision counter starting at 1
// and advanced by one per successful write; create and mod revisions; names unique
// case-insensitively (ASCII, like Keyring::NameIndex); the same codes and messages for a
// taken name or ID, a missing object and a revision mismatch; watches that deliver events
// asynchronously, in revision order, from any revision not yet compacted.
// store_conformance_test.cc runs the same tests against this and the etcd store.
//
// Nothing is sealed (there is no keyring) and nothing fails like a remote store would: no
// Unavailable, no DataLoss. Every event is kept until Compact() discards it.
//
// Thread-safe. Watch callbacks run on a thread owned by the watch, never with the store's
// lock held, so they may call back into the store.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/mutex.h"
#include "store/store.h"

namespace capsule::store {

class MemoryStore : public Store {
 public:
  MemoryStore() = default;
  // Every watch must have been destroyed (a live one aborts the process).
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  StatusOr<int64_t> Create(const ObjectRef& ref, const Record& record) override;
  StatusOr<int64_t> Update(const ObjectRef& ref, int64_t expected_revision,
                           const Record& record) override;
  StatusOr<int64_t> Delete(const ObjectRef& ref, int64_t expected_revision) override;
  StatusOr<StoredRecord> Get(const std::string& kind, const std::string& id) override;
  StatusOr<MetaSnapshot> ListMeta() override;
  StatusOr<std::unique_ptr<WatchHandle>> WatchObjects(int64_t start_revision,
                                                      StoreWatchCallbacks callbacks) override;
  int64_t LastWrittenRevision() const override;

  // As etcd's Compact: discards the events of revisions before `revision`; a watch that
  // still needs one of them ends with OutOfRange, as does a new watch starting below it.
  // OutOfRange if `revision` is already compacted or is in the future.
  Status Compact(int64_t revision);

 private:
  class Watch;
  struct Object {
    Record record;
    int64_t create_revision = 0;
    int64_t mod_revision = 0;
  };

  // Called with mu_ held: makes one write's revision and records its event for watches
  // (stamping the event's mod_revision, and a put's create_revision if it is 0).
  int64_t Commit(ObjectEvent event) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static std::string Key(const std::string& kind, const std::string& id);
  static std::pair<std::string, std::string> NameOf(const ObjectRef& ref);
  // A failed compare: the object is gone (NotFound) or was changed (Aborted).
  static Status Conflict(const ObjectRef& ref, bool exists);

  mutable Mutex mu_;
  std::condition_variable changed_;             // a write, a compaction or a watch closing
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 1;   // a fresh etcd cluster is at revision 1
  int64_t compacted_ ABSL_GUARDED_BY(mu_) = 0;  // events of revisions below this are gone
  int64_t last_written_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, Object> objects_ ABSL_GUARDED_BY(mu_);  // by Key(): etcd's key order
  // (kind, lower name) → ID
  std::map<std::pair<std::string, std::string>, std::string> names_ ABSL_GUARDED_BY(mu_);
  // Every event from compacted_ on, in revision order.
  std::deque<ObjectEvent> history_ ABSL_GUARDED_BY(mu_);
  int live_watches_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace capsule::store
