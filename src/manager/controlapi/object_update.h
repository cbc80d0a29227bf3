// Read-modify-write of one stored service or task with optimistic concurrency: read it
// linearizably from the store, decode, let `mutate` change it, write it back only if its
// mod_revision is unchanged, and start over (a few times) when another writer got there
// first. Used by the control API, the orchestrator and the dispatcher, so concurrent status
// and spec writes never overwrite each other. Thread-safe (the Store is).
//
// `mutate` may run several times (once per attempt) and must not keep side effects from a
// failed attempt. If it returns an error, nothing is written and that error is returned.
// Errors: NotFound "task <id> not found" / "service <id> not found"; Aborted when every
// attempt lost the race; the store's Unavailable/DataLoss as they come.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "objects/service.h"
#include "store/store.h"

namespace capsule::controlapi {

inline constexpr int kObjectUpdateAttempts = 8;

// → the revision of the write.
StatusOr<int64_t> UpdateTask(store::Store& store, const std::string& id,
                             const std::function<Status(Task&)>& mutate);
StatusOr<int64_t> UpdateService(store::Store& store, const std::string& id,
                                const std::function<Status(Service&)>& mutate);

// Creating a task (orchestrator) is one store Create of EncodeTaskMeta; this names it.
StatusOr<int64_t> CreateTask(store::Store& store, const Task& task);

}  // namespace capsule::controlapi
