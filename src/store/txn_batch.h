// The pure half of the etcd store's group commit (group_commit.h runs it): which waiting
// writes may share one etcd Txn, how that Txn is assembled, and — when its AND of compares
// fails — which writes failed and why, so each caller gets the answer it would have got alone.
//
// A batch Txn is: compares = every write's compares; success = every write's ops; failure =
// a keys-only read of every compared key. Its writes touch pairwise disjoint keys, so each
// compare depends on its own write's keys only, and the failure branch's read (taken at the
// revision the compares were evaluated at) decides every write's compares exactly: a write
// whose compares fail there would have failed alone at that revision (its answer is final);
// the others are sent again without it. No write is applied twice (a failed Txn applies
// nothing) nor lost (every write ends with a revision or its own error).
//
// A write may also carry fences (store/fence.h): compares on a key it does not change (the
// leader key). Writes sharing a fence key may share a Txn — the key is compared, never
// written, so each write's fences still depend on that key alone — and the batch carries each
// distinct fence once. A write whose fence fails answers FailedPrecondition (kNotLeaderMessage).
//
// Compares must be on revisions or versions (kValue is not decidable from a keys-only read).
// Everything here is a pure function of its arguments. Not thread-safe by itself (no state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/etcd/etcd_client.h"
#include "store/fence.h"
#include "store/store.h"

namespace capsule::store {

// One Store write as the etcd store prepared it (values already sealed).
struct TxnWrite {
  enum class Kind { kCreate, kUpdate, kDelete };
  Kind kind = Kind::kCreate;
  ObjectRef ref;  // for the error messages
  std::string object_key;
  std::vector<etcd::Compare> compares;
  std::vector<etcd::Op> ops;
  std::vector<etcd::Compare> fences;  // on keys no write changes (see the top)

  // Every key the write's own compares or ops touch (object key, name key); not its fences'.
  std::set<std::string> Keys() const;
  // The distinct keys its compares and fences read (the failure branch reads these).
  std::vector<std::string> ComparedKeys() const;
  // Bytes of keys and values it adds to a request (an estimate of its share of the Txn).
  size_t Bytes() const;
};

// What one Txn may hold: etcd's --max-txn-ops (compares, and ops per branch) and its
// --max-request-bytes (with headroom for the request's own framing).
struct BatchLimits {
  size_t max_ops = etcd::kMaxTxnOps;
  size_t max_bytes = static_cast<size_t>(etcd::kMaxRequestBytes) * 3 / 4;
};

// Picks the writes to send together from `waiting` (in arrival order): in order, each write
// that touches no key of `busy` (keys of Txns in flight), no key of a write taken before it
// and no key of an earlier write left waiting (so two writes on one key keep their arrival
// order), while the batch stays within `limits`. The first write that fits nowhere else is
// taken even if it alone exceeds limits (it would be sent alone anyway). Returns indices into
// `waiting`, ascending; empty if every waiting write is blocked by `busy`.
std::vector<size_t> PickBatch(const std::vector<const TxnWrite*>& waiting,
                              const std::set<std::string>& busy, const BatchLimits& limits);

// The batch's Txn, as described at the top.
struct BatchTxn {
  std::vector<etcd::Compare> compares;
  std::vector<etcd::Op> success;
  std::vector<etcd::Op> failure;
};
BatchTxn BuildBatchTxn(const std::vector<const TxnWrite*>& batch);

// Whether every compare and fence of `write` holds against `seen` (the keys the failure branch
// read; a key absent from it does not exist: revisions and version 0, as etcd compares it).
bool ComparesHold(const TxnWrite& write, const std::vector<etcd::KeyValue>& seen);

// The answer a write whose compares failed gets — the one the single-write Txn gave:
//   a failed fence  FailedPrecondition kNotLeaderMessage (whatever its own compares say)
//   create  AlreadyExists "<kind> <name> already exists" (its ID or its name is taken)
//   update, delete  NotFound "<kind> <id> not found" if the object is missing,
//                   Aborted "update out of sequence" if it exists at another revision.
Status FailedWriteStatus(const TxnWrite& write, const std::vector<etcd::KeyValue>& seen);

// The split of a batch whose Txn failed, from the failure branch's read.
struct BatchSplit {
  std::vector<size_t> retry;                      // compares hold: send again
  std::vector<std::pair<size_t, Status>> failed;  // final answers
};
// If no write's compares fail against `seen` (which a correct read cannot give), every
// write is failed with Internal rather than retried forever.
BatchSplit SplitFailedBatch(const std::vector<const TxnWrite*>& batch,
                            const std::vector<etcd::KeyValue>& seen);

}  // namespace capsule::store
