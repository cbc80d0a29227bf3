#include "store/etcd_store.h"

#include <algorithm>
#include <atomic>
#include <span>
#include <utility>
#include <vector>

#include "common/log.h"
#include "store/etcd/key_absent.h"
#include "store/group_commit.h"
#include "store/keys.h"
#include "store/txn_batch.h"

namespace capsule::store {
namespace {

using etcd::Compare;
using etcd::Op;

// The store's watch handle over an etcd watch (destroying it cancels and joins).
class EtcdWatchHandle : public WatchHandle {
 public:
  explicit EtcdWatchHandle(std::unique_ptr<etcd::Watch> watch) : watch_(std::move(watch)) {}

 private:
  std::unique_ptr<etcd::Watch> watch_;
};

class EtcdStore : public Store {
 public:
  EtcdStore(etcd::Client& client, const crypto::Keyring& keyring)
      : client_(client), keyring_(keyring), committer_(client) {}

  StatusOr<int64_t> Create(const ObjectRef& ref, const Record& record) override {
    return CreateWith(ref, record, nullptr);
  }

  StatusOr<int64_t> Update(const ObjectRef& ref, int64_t expected_revision,
                           const Record& record) override {
    return UpdateWith(ref, expected_revision, record, nullptr);
  }

  StatusOr<int64_t> Delete(const ObjectRef& ref, int64_t expected_revision) override {
    return DeleteWith(ref, expected_revision, nullptr);
  }

  std::vector<StatusOr<int64_t>> WriteBatch(std::vector<WriteRequest> writes) override {
    return WriteAll(std::move(writes), nullptr);
  }

  // Prepares and commits `writes` (each carrying `fence` if it is set); one answer per write.
  std::vector<StatusOr<int64_t>> WriteAll(std::vector<WriteRequest> writes, const Compare* fence) {
    std::vector<StatusOr<int64_t>> results(writes.size(), absl::UnknownError("not written"));
    std::vector<TxnWrite> prepared;
    std::vector<size_t> index;  // prepared[k] answers results[index[k]]
    for (size_t i = 0; i < writes.size(); ++i) {
      StatusOr<TxnWrite> w = Prepare(writes[i]);
      if (!w.ok()) {
        results[i] = w.status();
        continue;
      }
      if (fence != nullptr) w->fences.push_back(*fence);
      prepared.push_back(*std::move(w));
      index.push_back(i);
    }
    std::vector<StatusOr<int64_t>> committed = committer_.CommitAll(std::move(prepared));
    for (size_t k = 0; k < committed.size(); ++k) {
      results[index[k]] = Wrote(std::move(committed[k]));
    }
    return results;
  }

  // Create, Update and Delete, each carrying `fence` if it is set.
  StatusOr<int64_t> CreateWith(const ObjectRef& ref, const Record& record, const Compare* fence) {
    ASSIGN_OR_RETURN(TxnWrite w, PrepareCreate(ref, record));
    return CommitOne(std::move(w), fence);
  }
  StatusOr<int64_t> UpdateWith(const ObjectRef& ref, int64_t expected_revision,
                               const Record& record, const Compare* fence) {
    ASSIGN_OR_RETURN(TxnWrite w, PrepareUpdate(ref, expected_revision, record));
    return CommitOne(std::move(w), fence);
  }
  StatusOr<int64_t> DeleteWith(const ObjectRef& ref, int64_t expected_revision,
                               const Compare* fence) {
    return CommitOne(PrepareDelete(ref, expected_revision), fence);
  }

  StatusOr<StoredRecord> Get(const std::string& kind, const std::string& id) override {
    const std::string key = ObjectKey(kind, id);
    ASSIGN_OR_RETURN(etcd::RangeResult r, client_.Range(key, ""));
    if (r.kvs.empty()) return absl::NotFoundError(kind + " " + id + " not found");
    const etcd::KeyValue& kv = r.kvs.front();
    ASSIGN_OR_RETURN(SecretBytes plain, keyring_.Open(kv.key, kv.value));
    ASSIGN_OR_RETURN(Record rec, DecodeRecord(plain));
    return StoredRecord{std::move(rec), kv.create_revision, kv.mod_revision};
  }

  StatusOr<MetaSnapshot> ListMeta() override {
    ASSIGN_OR_RETURN(etcd::RangeResult r,
                     client_.Range(kObjectsPrefix, etcd::PrefixEnd(kObjectsPrefix)));
    MetaSnapshot snap;
    snap.revision = r.revision;
    snap.objects.reserve(r.kvs.size());
    for (const etcd::KeyValue& kv : r.kvs) {
      ASSIGN_OR_RETURN(ObjectMeta m, OpenMeta(kv));
      snap.objects.push_back(std::move(m));
    }
    return snap;
  }

  StatusOr<std::unique_ptr<WatchHandle>> WatchObjects(int64_t start_revision,
                                                      StoreWatchCallbacks callbacks) override {
    etcd::WatchCallbacks cb;
    cb.on_events = [this, callbacks](const std::vector<etcd::WatchEvent>& events, int64_t rev) {
      std::vector<ObjectEvent> out;
      out.reserve(events.size());
      for (const etcd::WatchEvent& e : events) {
        ObjectEvent oe;
        if (e.type == etcd::WatchEvent::Type::kDelete) {
          oe.type = ObjectEvent::Type::kDelete;
          if (!ParseObjectKey(e.kv.key, &oe.object.kind, &oe.object.id)) continue;
          oe.object.mod_revision = e.kv.mod_revision;
        } else {
          StatusOr<ObjectMeta> m = OpenMeta(e.kv);
          if (!m.ok()) {
            // A value that fails authentication is never applied; the error is loud.
            spdlog::error("store: ignoring unreadable object at revision {}: {}", e.kv.mod_revision,
                          m.status().ToString());
            continue;
          }
          oe.object = *std::move(m);
        }
        out.push_back(std::move(oe));
      }
      callbacks.on_events(out, rev);
    };
    cb.on_error = callbacks.on_error;
    ASSIGN_OR_RETURN(std::unique_ptr<etcd::Watch> watch,
                     client_.WatchRange(kObjectsPrefix, etcd::PrefixEnd(kObjectsPrefix),
                                        start_revision, std::move(cb)));
    return std::make_unique<EtcdWatchHandle>(std::move(watch));
  }

  int64_t LastWrittenRevision() const override { return last_written_.load(); }

 private:
  static Compare CreateRevisionIs(const std::string& key, int64_t rev) {
    return Compare{key, Compare::Target::kCreateRevision, Compare::Result::kEqual, rev, ""};
  }
  static Compare ModRevisionIs(const std::string& key, int64_t rev) {
    return Compare{key, Compare::Target::kModRevision, Compare::Result::kEqual, rev, ""};
  }

  StatusOr<std::string> Seal(const std::string& key, const Record& record) const {
    SecretBytes plain = EncodeRecord(record);
    return keyring_.Seal(key, plain.span());
  }

  StatusOr<std::string> SealId(const std::string& key, const std::string& id) const {
    return keyring_.Seal(
        key, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(id.data()), id.size()));
  }

  StatusOr<ObjectMeta> OpenMeta(const etcd::KeyValue& kv) const {
    ObjectMeta m;
    if (!ParseObjectKey(kv.key, &m.kind, &m.id)) {
      return absl::DataLossError("unexpected key under the objects prefix");
    }
    ASSIGN_OR_RETURN(SecretBytes plain, keyring_.Open(kv.key, kv.value));
    ASSIGN_OR_RETURN(m.meta, DecodeRecordMeta(plain));
    m.create_revision = kv.create_revision;
    m.mod_revision = kv.mod_revision;
    return m;
  }

  StatusOr<TxnWrite> Prepare(const WriteRequest& w) const {
    StatusOr<TxnWrite> prepared = absl::InvalidArgumentError("unknown write kind");
    switch (w.kind) {
      case WriteRequest::Kind::kCreate:
        prepared = PrepareCreate(w.ref, w.record);
        break;
      case WriteRequest::Kind::kUpdate:
        prepared = PrepareUpdate(w.ref, w.expected_revision, w.record);
        break;
      case WriteRequest::Kind::kDelete:
        prepared = PrepareDelete(w.ref, w.expected_revision);
        break;
    }
    if (!prepared.ok()) return prepared;
    RETURN_IF_ERROR(AddSideWrites(w.side, *prepared));
    return prepared;
  }

  // Each side write as one more put of `w` (store.h: SideWrite), sealed like every value.
  Status AddSideWrites(const std::vector<SideWrite>& side, TxnWrite& w) const {
    for (const SideWrite& s : side) {
      if (!s.key.starts_with(kAuditPrefix) || s.key.size() == sizeof(kAuditPrefix) - 1) {
        return absl::InvalidArgumentError("a side write must be under " +
                                          std::string(kAuditPrefix));
      }
      ASSIGN_OR_RETURN(std::string sealed,
                       keyring_.Seal(s.key, std::span<const uint8_t>(
                                                reinterpret_cast<const uint8_t*>(s.value.data()),
                                                s.value.size())));
      w.ops.push_back(Op::Put(s.key, std::move(sealed)));
    }
    return absl::OkStatus();
  }

  // The object key and, if ref.name is set, its name key, both created only if absent.
  StatusOr<TxnWrite> PrepareCreate(const ObjectRef& ref, const Record& record) const {
    TxnWrite w{TxnWrite::Kind::kCreate, ref, ObjectKey(ref.kind, ref.id), {}, {}, {}};
    ASSIGN_OR_RETURN(std::string sealed, Seal(w.object_key, record));
    w.compares.push_back(CreateRevisionIs(w.object_key, 0));
    w.ops.push_back(Op::Put(w.object_key, std::move(sealed)));
    if (!ref.name.empty()) {
      const std::string name_key = NameKey(ref.kind, keyring_.NameIndex(ref.name));
      ASSIGN_OR_RETURN(std::string sealed_id, SealId(name_key, ref.id));
      w.compares.push_back(CreateRevisionIs(name_key, 0));
      w.ops.push_back(Op::Put(name_key, std::move(sealed_id)));
    }
    return w;
  }

  StatusOr<TxnWrite> PrepareUpdate(const ObjectRef& ref, int64_t expected_revision,
                                   const Record& record) const {
    TxnWrite w{TxnWrite::Kind::kUpdate, ref, ObjectKey(ref.kind, ref.id), {}, {}, {}};
    ASSIGN_OR_RETURN(std::string sealed, Seal(w.object_key, record));
    w.compares.push_back(ModRevisionIs(w.object_key, expected_revision));
    w.ops.push_back(Op::Put(w.object_key, std::move(sealed)));
    return w;
  }

  TxnWrite PrepareDelete(const ObjectRef& ref, int64_t expected_revision) const {
    TxnWrite w{TxnWrite::Kind::kDelete, ref, ObjectKey(ref.kind, ref.id), {}, {}, {}};
    if (expected_revision > 0) {
      w.compares.push_back(ModRevisionIs(w.object_key, expected_revision));
    } else {
      w.compares.push_back(Compare{w.object_key, Compare::Target::kCreateRevision,
                                   Compare::Result::kGreater, 0, ""});
    }
    w.ops.push_back(Op::Delete(w.object_key));
    if (!ref.name.empty()) {
      w.ops.push_back(Op::Delete(NameKey(ref.kind, keyring_.NameIndex(ref.name))));
    }
    return w;
  }

  StatusOr<int64_t> CommitOne(TxnWrite w, const Compare* fence) {
    if (fence != nullptr) w.fences.push_back(*fence);
    return Wrote(committer_.Commit(std::move(w)));
  }

  StatusOr<int64_t> Wrote(StatusOr<int64_t> revision) {
    if (!revision.ok()) return revision;
    int64_t cur = last_written_.load();
    while (*revision > cur && !last_written_.compare_exchange_weak(cur, *revision)) {
    }
    return revision;
  }

  etcd::Client& client_;
  const crypto::Keyring& keyring_;
  GroupCommitter committer_;
  std::atomic<int64_t> last_written_{0};
};

// The leader work's view (store::NewFencedStore): its writes carry the fence; reads are the
// store's.
class FencedEtcdStore : public Store {
 public:
  FencedEtcdStore(EtcdStore& store, Fence fence, std::function<void()> on_fence_failed)
      : store_(store),
        fence_{std::move(fence.key), Compare::Target::kCreateRevision, Compare::Result::kEqual,
               fence.create_revision, ""},
        on_fence_failed_(std::move(on_fence_failed)) {}

  StatusOr<int64_t> Create(const ObjectRef& ref, const Record& record) override {
    return Checked(store_.CreateWith(ref, record, &fence_));
  }
  StatusOr<int64_t> Update(const ObjectRef& ref, int64_t expected_revision,
                           const Record& record) override {
    return Checked(store_.UpdateWith(ref, expected_revision, record, &fence_));
  }
  StatusOr<int64_t> Delete(const ObjectRef& ref, int64_t expected_revision) override {
    return Checked(store_.DeleteWith(ref, expected_revision, &fence_));
  }
  std::vector<StatusOr<int64_t>> WriteBatch(std::vector<WriteRequest> writes) override {
    std::vector<StatusOr<int64_t>> results = store_.WriteAll(std::move(writes), &fence_);
    for (const StatusOr<int64_t>& r : results) {
      if (IsFenceFailure(r)) {
        FenceFailed();
        break;
      }
    }
    return results;
  }
  StatusOr<StoredRecord> Get(const std::string& kind, const std::string& id) override {
    return store_.Get(kind, id);
  }
  StatusOr<MetaSnapshot> ListMeta() override { return store_.ListMeta(); }
  StatusOr<std::unique_ptr<WatchHandle>> WatchObjects(int64_t start_revision,
                                                      StoreWatchCallbacks callbacks) override {
    return store_.WatchObjects(start_revision, std::move(callbacks));
  }
  int64_t LastWrittenRevision() const override { return store_.LastWrittenRevision(); }

 private:
  static bool IsFenceFailure(const StatusOr<int64_t>& r) {
    return !r.ok() && r.status().code() == absl::StatusCode::kFailedPrecondition &&
           r.status().message() == kNotLeaderMessage;
  }
  void FenceFailed() {
    spdlog::warn("store: a leader write was refused: {}", kNotLeaderMessage);
    if (on_fence_failed_) on_fence_failed_();
  }
  StatusOr<int64_t> Checked(StatusOr<int64_t> r) {
    if (IsFenceFailure(r)) FenceFailed();
    return r;
  }

  EtcdStore& store_;
  const Compare fence_;
  const std::function<void()> on_fence_failed_;
};

}  // namespace

std::unique_ptr<Store> NewEtcdStore(etcd::Client& client, const crypto::Keyring& keyring) {
  return std::make_unique<EtcdStore>(client, keyring);
}

StatusOr<std::unique_ptr<Store>> NewFencedStore(Store& store, Fence fence,
                                                std::function<void()> on_fence_failed) {
  auto* etcd_store = dynamic_cast<EtcdStore*>(&store);
  if (etcd_store == nullptr) return absl::InvalidArgumentError("fencing needs the etcd store");
  if (fence.key.empty() || fence.key.rfind(kObjectsPrefix, 0) == 0) {
    return absl::InvalidArgumentError("a fence key must not be an object key");
  }
  return std::make_unique<FencedEtcdStore>(*etcd_store, std::move(fence),
                                           std::move(on_fence_failed));
}

StatusOr<crypto::Keyring> LoadKeyring(etcd::Client& client, const SecretBytes& kek) {
  ASSIGN_OR_RETURN(etcd::RangeResult r, client.Range(kKeyringKey, ""));
  if (r.kvs.empty()) return absl::NotFoundError("the swarm's keyring is not in the store");
  return crypto::Keyring::Unwrap(kek, r.kvs.front().value);
}

StatusOr<crypto::Keyring> LoadOrStoreKeyring(etcd::Client& client, const SecretBytes& kek,
                                             crypto::Keyring fresh) {
  ASSIGN_OR_RETURN(std::string wrapped, fresh.Wrap(kek));
  ASSIGN_OR_RETURN(etcd::TxnResult r,
                   client.Txn({etcd::KeyAbsent(kKeyringKey)},
                              {Op::Put(kKeyringKey, std::move(wrapped))}, {Op::Get(kKeyringKey)}));
  if (r.succeeded) return fresh;
  if (r.ranges.empty() || r.ranges.front().empty()) {
    return absl::InternalError("keyring vanished while loading it");
  }
  return crypto::Keyring::Unwrap(kek, r.ranges.front().front().value);
}

}  // namespace capsule::store
