// A task's read-modify-write (store/read_modify_write.h's UpdateLatest on a decoded Task):
// the dispatcher records agents' status reports with it, so concurrent writes to one task
// never overwrite each other. Thread-safe (the Store is).
//
// `mutate` may run several times (once per attempt) and must not keep side effects from a
// failed attempt. It answers kWrite (the changed task is stored) or kKeep (nothing is written:
// the revision read is returned). If it returns an error, nothing is written and that error is
// returned.
// Errors: NotFound "task <id> not found"; Unknown "update out of sequence" when every attempt
// lost the race; the store's Unavailable/DataLoss as they come.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "objects/service.h"
#include "store/read_modify_write.h"
#include "store/store.h"

namespace capsule::controlapi {

// → the revision of the write (or the one read, for kKeep).
StatusOr<int64_t> UpdateTask(store::Store& store, const std::string& id,
                             const std::function<StatusOr<store::Mutation>(Task&)>& mutate);

}  // namespace capsule::controlapi
