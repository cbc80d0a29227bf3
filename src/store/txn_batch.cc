#include "store/txn_batch.h"

#include <algorithm>

namespace capsule::store {
namespace {

using etcd::Compare;

const etcd::KeyValue* Find(const std::vector<etcd::KeyValue>& seen, const std::string& key) {
  for (const etcd::KeyValue& kv : seen) {
    if (kv.key == key) return &kv;
  }
  return nullptr;
}

bool Holds(const Compare& c, const std::vector<etcd::KeyValue>& seen) {
  const etcd::KeyValue* kv = Find(seen, c.key);
  int64_t actual = 0;
  switch (c.target) {
    case Compare::Target::kCreateRevision:
      actual = kv ? kv->create_revision : 0;
      break;
    case Compare::Target::kModRevision:
      actual = kv ? kv->mod_revision : 0;
      break;
    case Compare::Target::kVersion:
      actual = kv ? kv->version : 0;
      break;
    case Compare::Target::kValue:
      return false;  // not decidable from a keys-only read (see the header)
  }
  switch (c.result) {
    case Compare::Result::kEqual:
      return actual == c.revision;
    case Compare::Result::kGreater:
      return actual > c.revision;
    case Compare::Result::kLess:
      return actual < c.revision;
    case Compare::Result::kNotEqual:
      return actual != c.revision;
  }
  return false;
}

bool Intersects(const std::set<std::string>& keys, const std::set<std::string>& other) {
  for (const std::string& k : keys) {
    if (other.count(k) > 0) return true;
  }
  return false;
}

bool SameCompare(const Compare& a, const Compare& b) {
  return a.key == b.key && a.target == b.target && a.result == b.result &&
         a.revision == b.revision && a.value == b.value;
}

bool Contains(const std::vector<Compare>& compares, const Compare& c) {
  return std::any_of(compares.begin(), compares.end(),
                     [&](const Compare& x) { return SameCompare(x, c); });
}

}  // namespace

std::set<std::string> TxnWrite::Keys() const {
  std::set<std::string> keys;
  for (const Compare& c : compares) keys.insert(c.key);
  for (const etcd::Op& op : ops) keys.insert(op.key);
  return keys;
}

std::vector<std::string> TxnWrite::ComparedKeys() const {
  std::vector<std::string> keys;
  for (const std::vector<Compare>* list : {&compares, &fences}) {
    for (const Compare& c : *list) {
      if (std::find(keys.begin(), keys.end(), c.key) == keys.end()) keys.push_back(c.key);
    }
  }
  return keys;
}

size_t TxnWrite::Bytes() const {
  size_t n = 0;
  for (const Compare& c : compares) n += c.key.size() + c.value.size();
  for (const Compare& c : fences) n += c.key.size() + c.value.size();
  // Each op's key also comes back in the failure branch's read.
  for (const etcd::Op& op : ops) n += 2 * op.key.size() + op.value.size();
  return n;
}

std::vector<size_t> PickBatch(const std::vector<const TxnWrite*>& waiting,
                              const std::set<std::string>& busy, const BatchLimits& limits) {
  std::vector<size_t> picked;
  std::set<std::string> blocked = busy;  // busy, taken, or claimed by an earlier waiting write
  size_t compares = 0, ops = 0, reads = 0, bytes = 0;
  std::vector<Compare> fences;  // the distinct fences of the writes taken
  for (size_t i = 0; i < waiting.size(); ++i) {
    const TxnWrite& w = *waiting[i];
    const std::set<std::string> keys = w.Keys();
    if (Intersects(keys, blocked)) {
      blocked.insert(keys.begin(), keys.end());
      continue;
    }
    std::vector<Compare> new_fences;
    for (const Compare& f : w.fences) {
      if (!Contains(fences, f) && !Contains(new_fences, f)) new_fences.push_back(f);
    }
    // Own compares (one read per distinct key), plus the fences the batch lacks so far.
    size_t n_reads = new_fences.size();
    for (const std::string& k : w.ComparedKeys()) {
      const bool fence_key = std::any_of(w.fences.begin(), w.fences.end(),
                                         [&](const Compare& f) { return f.key == k; });
      if (!fence_key) ++n_reads;
    }
    const size_t n_compares = w.compares.size() + new_fences.size();
    const bool fits = compares + n_compares <= limits.max_ops &&
                      ops + w.ops.size() <= limits.max_ops && reads + n_reads <= limits.max_ops &&
                      bytes + w.Bytes() <= limits.max_bytes;
    if (!fits && !picked.empty()) break;  // the rest waits for the next Txn
    picked.push_back(i);
    blocked.insert(keys.begin(), keys.end());
    fences.insert(fences.end(), new_fences.begin(), new_fences.end());
    compares += n_compares;
    ops += w.ops.size();
    reads += n_reads;
    bytes += w.Bytes();
    if (!fits) break;  // a write over the limits on its own goes alone
  }
  return picked;
}

BatchTxn BuildBatchTxn(const std::vector<const TxnWrite*>& batch) {
  BatchTxn txn;
  std::set<std::string> read;  // keys the failure branch reads already (shared fence keys)
  for (const TxnWrite* w : batch) {
    txn.compares.insert(txn.compares.end(), w->compares.begin(), w->compares.end());
    for (const Compare& f : w->fences) {
      if (!Contains(txn.compares, f)) txn.compares.push_back(f);
    }
    txn.success.insert(txn.success.end(), w->ops.begin(), w->ops.end());
    for (std::string& key : w->ComparedKeys()) {
      if (read.insert(key).second) txn.failure.push_back(etcd::Op::GetKeysOnly(std::move(key)));
    }
  }
  return txn;
}

bool ComparesHold(const TxnWrite& write, const std::vector<etcd::KeyValue>& seen) {
  const auto holds = [&](const Compare& c) { return Holds(c, seen); };
  return std::all_of(write.compares.begin(), write.compares.end(), holds) &&
         std::all_of(write.fences.begin(), write.fences.end(), holds);
}

Status FailedWriteStatus(const TxnWrite& write, const std::vector<etcd::KeyValue>& seen) {
  const ObjectRef& ref = write.ref;
  if (!std::all_of(write.fences.begin(), write.fences.end(),
                   [&](const Compare& c) { return Holds(c, seen); })) {
    return absl::FailedPreconditionError(kNotLeaderMessage);
  }
  if (write.kind == TxnWrite::Kind::kCreate) {
    return absl::AlreadyExistsError(ref.kind + " " + ref.name + " already exists");
  }
  if (Find(seen, write.object_key) == nullptr) {
    return absl::NotFoundError(ref.kind + " " + ref.id + " not found");
  }
  return absl::AbortedError("update out of sequence");
}

BatchSplit SplitFailedBatch(const std::vector<const TxnWrite*>& batch,
                            const std::vector<etcd::KeyValue>& seen) {
  BatchSplit split;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (ComparesHold(*batch[i], seen)) {
      split.retry.push_back(i);
    } else {
      split.failed.emplace_back(i, FailedWriteStatus(*batch[i], seen));
    }
  }
  if (split.failed.empty()) {
    for (size_t i : split.retry) {
      split.failed.emplace_back(
          i, absl::InternalError("etcd failed a Txn whose compares hold against its own read"));
    }
    split.retry.clear();
  }
  return split;
}

}  // namespace capsule::store
