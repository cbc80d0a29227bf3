#include "store/memory_store.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "store/read_model.h"

namespace capsule::store {
namespace {

Record Copy(const Record& record) {
  return Record{record.meta, SecretBytes::CopyFrom(record.data.span())};
}

}  // namespace

// One watch: a thread that waits for events at or after next_ and hands them over in
// revision order, one batch per wake-up (several revisions may share a batch, as in etcd).
class MemoryStore::Watch : public WatchHandle {
 public:
  Watch(MemoryStore& store, int64_t next, StoreWatchCallbacks callbacks)
      : store_(store), next_(next), callbacks_(std::move(callbacks)) {
    thread_ = std::thread([this] { Run(); });
  }

  ~Watch() override {
    {
      MutexLock lock(store_.mu_);
      closing_ = true;
    }
    store_.changed_.notify_all();
    thread_.join();
    MutexLock lock(store_.mu_);
    --store_.live_watches_;
  }

 private:
  void Run() {
    MutexLock lock(store_.mu_);
    while (true) {
      store_.changed_.wait(lock.native(), [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(store_.mu_) {
        return closing_ || next_ < store_.compacted_ ||
               (!store_.history_.empty() && store_.history_.back().object.mod_revision >= next_);
      });
      if (closing_) return;
      if (next_ < store_.compacted_) {
        const Status compacted =
            absl::OutOfRangeError("required revision has been compacted; compact revision " +
                                  std::to_string(store_.compacted_));
        lock.Unlock();
        if (callbacks_.on_error) callbacks_.on_error(compacted);
        return;
      }
      auto first = std::lower_bound(
          store_.history_.begin(), store_.history_.end(), next_,
          [](const ObjectEvent& e, int64_t rev) { return e.object.mod_revision < rev; });
      std::vector<ObjectEvent> batch(first, store_.history_.end());
      next_ = batch.back().object.mod_revision + 1;
      const int64_t revision = store_.revision_;
      lock.Unlock();
      if (callbacks_.on_events) callbacks_.on_events(batch, revision);
      lock.Lock();
    }
  }

  MemoryStore& store_;
  int64_t next_ ABSL_GUARDED_BY(store_.mu_);  // the next revision to deliver
  bool closing_ ABSL_GUARDED_BY(store_.mu_) = false;
  const StoreWatchCallbacks callbacks_;
  std::thread thread_;
};

MemoryStore::~MemoryStore() {
  MutexLock lock(mu_);
  if (live_watches_ > 0) {
    std::fputs("capsule: MemoryStore destroyed while a watch is live\n", stderr);
    std::abort();
  }
}

std::string MemoryStore::Key(const std::string& kind, const std::string& id) {
  return kind + "/" + id;
}

std::pair<std::string, std::string> MemoryStore::NameOf(const ObjectRef& ref) {
  return {ref.kind, AsciiLower(ref.name)};
}

Status MemoryStore::Conflict(const ObjectRef& ref, bool exists) {
  if (!exists) return absl::NotFoundError(ref.kind + " " + ref.id + " not found");
  return absl::AbortedError("update out of sequence");
}

int64_t MemoryStore::Commit(ObjectEvent event) {
  last_written_ = ++revision_;
  event.object.mod_revision = revision_;
  if (event.type == ObjectEvent::Type::kPut && event.object.create_revision == 0) {
    event.object.create_revision = revision_;
  }
  history_.push_back(std::move(event));
  changed_.notify_all();
  return revision_;
}

StatusOr<int64_t> MemoryStore::Create(const ObjectRef& ref, const Record& record) {
  MutexLock lock(mu_);
  const std::string key = Key(ref.kind, ref.id);
  if (objects_.count(key) > 0 || (!ref.name.empty() && names_.count(NameOf(ref)) > 0)) {
    return absl::AlreadyExistsError(ref.kind + " " + ref.name + " already exists");
  }
  const int64_t rev =
      Commit(ObjectEvent{ObjectEvent::Type::kPut, ObjectMeta{ref.kind, ref.id, record.meta, 0, 0}});
  objects_[key] = Object{Copy(record), rev, rev};
  if (!ref.name.empty()) names_[NameOf(ref)] = ref.id;
  return rev;
}

StatusOr<int64_t> MemoryStore::Update(const ObjectRef& ref, int64_t expected_revision,
                                      const Record& record) {
  MutexLock lock(mu_);
  const std::string key = Key(ref.kind, ref.id);
  auto it = objects_.find(key);
  const bool exists = it != objects_.end();
  if ((exists ? it->second.mod_revision : 0) != expected_revision) return Conflict(ref, exists);
  const int64_t created = exists ? it->second.create_revision : 0;  // 0: this write
  const int64_t rev = Commit(
      ObjectEvent{ObjectEvent::Type::kPut, ObjectMeta{ref.kind, ref.id, record.meta, created, 0}});
  objects_[key] = Object{Copy(record), created != 0 ? created : rev, rev};
  return rev;
}

StatusOr<int64_t> MemoryStore::Delete(const ObjectRef& ref, int64_t expected_revision) {
  MutexLock lock(mu_);
  auto it = objects_.find(Key(ref.kind, ref.id));
  const bool exists = it != objects_.end();
  if (!exists || (expected_revision > 0 && it->second.mod_revision != expected_revision)) {
    return Conflict(ref, exists);
  }
  objects_.erase(it);
  if (!ref.name.empty()) names_.erase(NameOf(ref));
  return Commit(ObjectEvent{ObjectEvent::Type::kDelete, ObjectMeta{ref.kind, ref.id, "", 0, 0}});
}

StatusOr<StoredRecord> MemoryStore::Get(const std::string& kind, const std::string& id) {
  MutexLock lock(mu_);
  auto it = objects_.find(Key(kind, id));
  if (it == objects_.end()) return absl::NotFoundError(kind + " " + id + " not found");
  return StoredRecord{Copy(it->second.record), it->second.create_revision, it->second.mod_revision};
}

StatusOr<MetaSnapshot> MemoryStore::ListMeta() {
  MutexLock lock(mu_);
  MetaSnapshot snap;
  snap.revision = revision_;
  snap.objects.reserve(objects_.size());
  for (const auto& [key, o] : objects_) {
    const size_t slash = key.find('/');
    snap.objects.push_back(ObjectMeta{key.substr(0, slash), key.substr(slash + 1), o.record.meta,
                                      o.create_revision, o.mod_revision});
  }
  return snap;
}

StatusOr<std::unique_ptr<WatchHandle>> MemoryStore::WatchObjects(int64_t start_revision,
                                                                 StoreWatchCallbacks callbacks) {
  int64_t next = start_revision;
  {
    MutexLock lock(mu_);
    if (next <= 0) next = revision_ + 1;
    ++live_watches_;
  }
  return std::make_unique<Watch>(*this, next, std::move(callbacks));
}

int64_t MemoryStore::LastWrittenRevision() const {
  MutexLock lock(mu_);
  return last_written_;
}

Status MemoryStore::Compact(int64_t revision) {
  MutexLock lock(mu_);
  if (revision <= compacted_) {
    return absl::OutOfRangeError("required revision has been compacted");
  }
  if (revision > revision_) return absl::OutOfRangeError("required revision is a future revision");
  compacted_ = revision;
  while (!history_.empty() && history_.front().object.mod_revision < revision) {
    history_.pop_front();
  }
  changed_.notify_all();
  return absl::OkStatus();
}

}  // namespace capsule::store
