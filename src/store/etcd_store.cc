#include "store/etcd_store.h"

#include <algorithm>

#include "common/log.h"
#include "store/keys.h"

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
      : client_(client), keyring_(keyring) {}

  StatusOr<int64_t> Create(const ObjectRef& ref, const Record& record) override {
    const std::string key = ObjectKey(ref.kind, ref.id);
    ASSIGN_OR_RETURN(std::string sealed, Seal(key, record));
    std::vector<Compare> cmps = {CreateRevisionIs(key, 0)};
    std::vector<Op> ops = {Op::Put(key, std::move(sealed))};
    if (!ref.name.empty()) {
      const std::string name_key = NameKey(ref.kind, keyring_.NameIndex(ref.name));
      ASSIGN_OR_RETURN(std::string sealed_id, SealId(name_key, ref.id));
      cmps.push_back(CreateRevisionIs(name_key, 0));
      ops.push_back(Op::Put(name_key, std::move(sealed_id)));
    }
    ASSIGN_OR_RETURN(etcd::TxnResult r, client_.Txn(cmps, ops, {}));
    if (!r.succeeded) {
      return absl::AlreadyExistsError(ref.kind + " " + ref.name + " already exists");
    }
    return Wrote(r.revision);
  }

  StatusOr<int64_t> Update(const ObjectRef& ref, int64_t expected_revision,
                           const Record& record) override {
    const std::string key = ObjectKey(ref.kind, ref.id);
    ASSIGN_OR_RETURN(std::string sealed, Seal(key, record));
    ASSIGN_OR_RETURN(etcd::TxnResult r,
                     client_.Txn({ModRevisionIs(key, expected_revision)},
                                 {Op::Put(key, std::move(sealed))}, {Op::Get(key)}));
    if (!r.succeeded) return Conflict(ref, r);
    return Wrote(r.revision);
  }

  StatusOr<int64_t> Delete(const ObjectRef& ref, int64_t expected_revision) override {
    const std::string key = ObjectKey(ref.kind, ref.id);
    std::vector<Compare> cmps;
    if (expected_revision > 0) {
      cmps.push_back(ModRevisionIs(key, expected_revision));
    } else {
      cmps.push_back(
          Compare{key, Compare::Target::kCreateRevision, Compare::Result::kGreater, 0, ""});
    }
    std::vector<Op> ops = {Op::Delete(key)};
    if (!ref.name.empty()) {
      ops.push_back(Op::Delete(NameKey(ref.kind, keyring_.NameIndex(ref.name))));
    }
    ASSIGN_OR_RETURN(etcd::TxnResult r, client_.Txn(cmps, ops, {Op::Get(key)}));
    if (!r.succeeded) return Conflict(ref, r);
    return Wrote(r.revision);
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

  // A failed compare: the object is gone (NotFound) or was changed (Aborted).
  static Status Conflict(const ObjectRef& ref, const etcd::TxnResult& r) {
    if (r.ranges.empty() || r.ranges.front().empty()) {
      return absl::NotFoundError(ref.kind + " " + ref.id + " not found");
    }
    return absl::AbortedError("update out of sequence");
  }

  int64_t Wrote(int64_t revision) {
    int64_t cur = last_written_.load();
    while (revision > cur && !last_written_.compare_exchange_weak(cur, revision)) {
    }
    return revision;
  }

  etcd::Client& client_;
  const crypto::Keyring& keyring_;
  std::atomic<int64_t> last_written_{0};
};

}  // namespace

std::unique_ptr<Store> NewEtcdStore(etcd::Client& client, const crypto::Keyring& keyring) {
  return std::make_unique<EtcdStore>(client, keyring);
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
                   client.Txn({Compare{kKeyringKey, Compare::Target::kCreateRevision,
                                       Compare::Result::kEqual, 0, ""}},
                              {Op::Put(kKeyringKey, std::move(wrapped))}, {Op::Get(kKeyringKey)}));
  if (r.succeeded) return fresh;
  if (r.ranges.empty() || r.ranges.front().empty()) {
    return absl::InternalError("keyring vanished while loading it");
  }
  return crypto::Keyring::Unwrap(kek, r.ranges.front().front().value);
}

}  // namespace capsule::store
