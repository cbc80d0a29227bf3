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

}  // namespace

std::set<std::string> TxnWrite::Keys() const {
  std::set<std::string> keys;
  for (const Compare& c : compares) keys.insert(c.key);
  for (const etcd::Op& op : ops) keys.insert(op.key);
  return keys;
}

std::vector<std::string> TxnWrite::ComparedKeys() const {
  std::vector<std::string> keys;
  for (const Compare& c : compares) {
    if (std::find(keys.begin(), keys.end(), c.key) == keys.end()) keys.push_back(c.key);
  }
  return keys;
}

size_t TxnWrite::Bytes() const {
  size_t n = 0;
  for (const Compare& c : compares) n += c.key.size() + c.value.size();
  // Each op's key also comes back in the failure branch's read.
  for (const etcd::Op& op : ops) n += 2 * op.key.size() + op.value.size();
  return n;
}

std::vector<size_t> PickBatch(const std::vector<const TxnWrite*>& waiting,
                              const std::set<std::string>& busy, const BatchLimits& limits) {
  std::vector<size_t> picked;
  std::set<std::string> blocked = busy;  // busy, taken, or claimed by an earlier waiting write
  size_t compares = 0, ops = 0, reads = 0, bytes = 0;
  for (size_t i = 0; i < waiting.size(); ++i) {
    const TxnWrite& w = *waiting[i];
    const std::set<std::string> keys = w.Keys();
    if (Intersects(keys, blocked)) {
      blocked.insert(keys.begin(), keys.end());
      continue;
    }
    const size_t n_reads = w.ComparedKeys().size();
    const bool fits = compares + w.compares.size() <= limits.max_ops &&
                      ops + w.ops.size() <= limits.max_ops && reads + n_reads <= limits.max_ops &&
                      bytes + w.Bytes() <= limits.max_bytes;
    if (!fits && !picked.empty()) break;  // the rest waits for the next Txn
    picked.push_back(i);
    blocked.insert(keys.begin(), keys.end());
    compares += w.compares.size();
    ops += w.ops.size();
    reads += n_reads;
    bytes += w.Bytes();
    if (!fits) break;  // a write over the limits on its own goes alone
  }
  return picked;
}

BatchTxn BuildBatchTxn(const std::vector<const TxnWrite*>& batch) {
  BatchTxn txn;
  for (const TxnWrite* w : batch) {
    txn.compares.insert(txn.compares.end(), w->compares.begin(), w->compares.end());
    txn.success.insert(txn.success.end(), w->ops.begin(), w->ops.end());
    for (std::string& key : w->ComparedKeys()) {
      txn.failure.push_back(etcd::Op::GetKeysOnly(std::move(key)));
    }
  }
  return txn;
}

bool ComparesHold(const TxnWrite& write, const std::vector<etcd::KeyValue>& seen) {
  return std::all_of(write.compares.begin(), write.compares.end(),
                     [&](const Compare& c) { return Holds(c, seen); });
}

Status FailedWriteStatus(const TxnWrite& write, const std::vector<etcd::KeyValue>& seen) {
  const ObjectRef& ref = write.ref;
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
