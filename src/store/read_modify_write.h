// Read-modify-write of one stored object with optimistic concurrency, and swarmkit's one
// error for a write that lost: read the object (Store::Get), let `mutate` change it, write it
// back only if nobody wrote it in between (Store::Update at the revision expected).
//
// Two kinds of writers:
//   UpdateAtVersion  an API update carrying the Version.Index its client read: one attempt;
//                    any other revision stored → OutOfSequence().
//   UpdateLatest     an internal writer (status reports, liveness): the revision just read;
//                    a lost race reads again and retries, up to kWriteAttempts times, then
//                    → OutOfSequence().
// RetryOnConflict is the bounded retry alone, for writes that read elsewhere or delete.
//
// `mutate` may run once per attempt and must not keep side effects from a failed one. It
// changes object.record in place and says whether to write it; an error it returns is
// returned as is, with nothing written. Other errors come from the Store unchanged (NotFound
// "<kind> <id> not found" for a missing object: callers put their own message on it).
// Thread-safe (the Store is).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "store/store.h"

namespace capsule::store {

inline constexpr int kWriteAttempts = 8;

// swarmkit's ErrSequenceConflict: the object changed since the caller read it. A plain error
// there, so its gRPC code is Unknown: Unknown "update out of sequence".
Status OutOfSequence();

enum class Mutation {
  kWrite,  // store the changed record
  kKeep,   // leave the object as it is: no write (returns the revision read)
};
using MutateFn = std::function<StatusOr<Mutation>(StoredRecord& object)>;

// → the revision of the write.
StatusOr<int64_t> UpdateAtVersion(Store& store, const std::string& kind, const std::string& id,
                                  int64_t version, const MutateFn& mutate);
StatusOr<int64_t> UpdateLatest(Store& store, const std::string& kind, const std::string& id,
                               const MutateFn& mutate);

// Runs `attempt` again while it returns Aborted, at most kWriteAttempts times in all;
// → OutOfSequence() if every attempt was Aborted.
StatusOr<int64_t> RetryOnConflict(const std::function<StatusOr<int64_t>()>& attempt);

}  // namespace capsule::store
