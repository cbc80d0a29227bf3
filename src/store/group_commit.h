// Group commit for the etcd store: writes from many threads share etcd Txns. A write that
// arrives while fewer than `max_in_flight` Txns are outstanding is sent at once by its own
// thread (so a lone writer's latency is one Txn, as without batching); writes arriving
// meanwhile wait, and the next free thread sends every waiting write it can in one Txn
// (txn_batch.h: PickBatch — disjoint keys, within etcd's limits, arrival order kept between
// writes on one key). A failed batch Txn is split (SplitFailedBatch) until every write has
// its own answer: the revision of the Txn that applied it (shared with the other writes of
// that Txn), or exactly the error it would have got alone. An error of the Txn call itself
// (Unavailable, DeadlineExceeded, …) is the answer of every write that was in it.
//
// Wake-ups are targeted (they are most of the cost of a hand-off): a finished batch wakes only
// the callers it answered completely, and a freed Txn slot wakes one caller — the one whose
// write waits longest — to send the next batch (unless the finishing thread still has writes
// waiting and sends it itself). A caller that takes a batch while a slot is still free wakes
// the next one likewise.
//
// Thread-safe; Commit blocks until all of the caller's writes are answered. The client must
// outlive the committer.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/etcd/etcd_client.h"
#include "store/txn_batch.h"

namespace capsule::store {

struct GroupCommitOptions {
  BatchLimits limits;
  // Txns outstanding at once. More than one lets etcd overlap their disk syncs.
  int max_in_flight = 2;
};

class GroupCommitter {
 public:
  explicit GroupCommitter(etcd::Client& client, GroupCommitOptions options = {});

  StatusOr<int64_t> Commit(TxnWrite write);
  // One answer per write, in order. Writes on one key are applied in the order given.
  std::vector<StatusOr<int64_t>> CommitAll(std::vector<TxnWrite> writes);

  // Txns sent so far, and writes waiting for a Txn now (for tests and benchmarks).
  uint64_t txns_sent() const;
  size_t waiting() const;

 private:
  struct Caller {  // one CommitAll call, on its stack
    std::condition_variable cv;
    size_t unanswered = 0;
  };
  struct Pending {
    TxnWrite write;
    Caller* caller = nullptr;
    StatusOr<int64_t> result = absl::UnknownError("not committed");
  };

  // With mu_ held: takes the next batch from waiting_ if a Txn slot is free (empty if not).
  std::vector<Pending*> TakeBatch();
  // With mu_ held: if a slot is free, wakes the caller of the oldest waiting write that is
  // not `self`'s (self is awake).
  void WakeNextSender(const Caller* self);

  // Sends `batch` until each write has its answer; called without mu_ held.
  void Run(const std::vector<Pending*>& batch);

  etcd::Client& client_;
  const GroupCommitOptions options_;
  mutable std::mutex mu_;
  std::deque<Pending*> waiting_;  // arrival order
  std::set<std::string> busy_;    // keys of the writes in flight
  int in_flight_ = 0;
  uint64_t txns_sent_ = 0;
};

}  // namespace capsule::store
