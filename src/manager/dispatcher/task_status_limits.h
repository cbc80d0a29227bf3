// What a node's task status report may carry into the store. A worker's UpdateTaskStatus
// writes its words into the task object (and so into etcd, every write a revision); these
// bounds keep one report small whatever the worker sends, as swarmkit's task status stays
// short: longer text is cut at a UTF-8 character boundary and marked with "…".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "objects/service_model.h"

namespace capsule::dispatcher {

inline constexpr size_t kMaxTaskStatusMessageBytes = 1024;
inline constexpr size_t kMaxTaskStatusErrBytes = 2048;
inline constexpr size_t kMaxContainerIdBytes = 128;

// `text` cut to at most `max_bytes` bytes (never inside a UTF-8 sequence), ending in "…"
// when it was cut. Unchanged when it fits.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

// `status` with message, err and container ID cut to the bounds above.
TaskStatus BoundedTaskStatus(TaskStatus status);

// Whether a report says nothing new about a task whose status is `stored`: same state,
// message, err and container details (the timestamp alone does not count). Such a report
// is not written.
bool SameReportedStatus(const TaskStatus& stored, const TaskStatus& reported);

}  // namespace capsule::dispatcher
