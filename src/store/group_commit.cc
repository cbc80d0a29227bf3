#include "store/group_commit.h"

#include <algorithm>
#include <utility>

namespace capsule::store {

GroupCommitter::GroupCommitter(etcd::Client& client, GroupCommitOptions options)
    : client_(client), options_(std::move(options)) {}

StatusOr<int64_t> GroupCommitter::Commit(TxnWrite write) {
  std::vector<TxnWrite> one;
  one.push_back(std::move(write));
  return std::move(CommitAll(std::move(one)).front());
}

std::vector<StatusOr<int64_t>> GroupCommitter::CommitAll(std::vector<TxnWrite> writes) {
  Caller self;
  self.unanswered = writes.size();
  std::vector<Pending> mine(writes.size());
  for (size_t i = 0; i < writes.size(); ++i) {
    mine[i].write = std::move(writes[i]);
    mine[i].caller = &self;
  }

  std::unique_lock<std::mutex> lock(mu_);
  for (Pending& p : mine) waiting_.push_back(&p);
  while (self.unanswered > 0) {
    // While any of ours waits, this thread sends a batch whenever a Txn slot is free — ours
    // or others' writes, whichever PickBatch takes first.
    std::vector<Pending*> batch = TakeBatch();
    if (batch.empty()) {
      self.cv.wait(lock);
      continue;
    }
    WakeNextSender(&self);  // a second slot may still be free
    lock.unlock();
    Run(batch);
    lock.lock();
    --in_flight_;
    for (Pending* p : batch) {
      for (const std::string& k : p->write.Keys()) busy_.erase(k);
      // Notified under mu_: the caller's cv lives on its stack until it sees 0 here.
      if (--p->caller->unanswered == 0 && p->caller != &self) p->caller->cv.notify_one();
    }
    if (self.unanswered == 0) WakeNextSender(&self);  // we leave: someone takes the slot
  }
  std::vector<StatusOr<int64_t>> results;
  results.reserve(mine.size());
  for (Pending& p : mine) results.push_back(std::move(p.result));
  return results;
}

std::vector<GroupCommitter::Pending*> GroupCommitter::TakeBatch() {
  std::vector<Pending*> batch;
  if (in_flight_ >= options_.max_in_flight || waiting_.empty()) return batch;
  std::vector<const TxnWrite*> candidates;
  candidates.reserve(waiting_.size());
  for (const Pending* p : waiting_) candidates.push_back(&p->write);
  const std::vector<size_t> picked = PickBatch(candidates, busy_, options_.limits);
  for (auto it = picked.rbegin(); it != picked.rend(); ++it) {
    batch.push_back(waiting_[*it]);
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(*it));
  }
  std::reverse(batch.begin(), batch.end());
  for (const Pending* p : batch) {
    const std::set<std::string> keys = p->write.Keys();
    busy_.insert(keys.begin(), keys.end());
  }
  if (!batch.empty()) ++in_flight_;
  return batch;
}

void GroupCommitter::WakeNextSender(const Caller* self) {
  if (in_flight_ >= options_.max_in_flight) return;
  for (Pending* p : waiting_) {
    if (p->caller != self) {
      p->caller->cv.notify_one();
      return;
    }
  }
}

void GroupCommitter::Run(const std::vector<Pending*>& batch) {
  std::vector<Pending*> remaining = batch;
  while (!remaining.empty()) {
    std::vector<const TxnWrite*> writes;
    writes.reserve(remaining.size());
    for (const Pending* p : remaining) writes.push_back(&p->write);
    const BatchTxn txn = BuildBatchTxn(writes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++txns_sent_;
    }
    StatusOr<etcd::TxnResult> r = client_.Txn(txn.compares, txn.success, txn.failure);
    if (!r.ok()) {
      for (Pending* p : remaining) p->result = r.status();
      return;
    }
    if (r->succeeded) {
      for (Pending* p : remaining) p->result = r->revision;
      return;
    }
    std::vector<etcd::KeyValue> seen;
    for (std::vector<etcd::KeyValue>& kvs : r->ranges) {
      for (etcd::KeyValue& kv : kvs) seen.push_back(std::move(kv));
    }
    const BatchSplit split = SplitFailedBatch(writes, seen);
    for (const auto& [i, status] : split.failed) remaining[i]->result = status;
    std::vector<Pending*> retry;
    retry.reserve(split.retry.size());
    for (size_t i : split.retry) retry.push_back(remaining[i]);
    remaining = std::move(retry);
  }
}

uint64_t GroupCommitter::txns_sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return txns_sent_;
}

size_t GroupCommitter::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

}  // namespace capsule::store
