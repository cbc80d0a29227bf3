// The on-disk format of a task's log: one JSON object per line, as Docker's json-file driver
// writes it: {"log":"hello\n","stream":"stdout","time":"2026-11-28T00:27:14.9168343Z"}.
// Bytes that are not valid UTF-8 become U+FFFD (as in Docker).
#pragma once

#include <string>

#include "agent/executor/task_logs.h"
#include "common/status.h"

namespace capsule::agent {

// The encoded record, ending in '\n'.
std::string EncodeLogLine(const LogLine& line);
// One record (with or without its trailing '\n'). Malformed → DataLoss.
StatusOr<LogLine> DecodeLogLine(const std::string& record);

// The longest piece of output kept as one line; longer lines are split (as Docker does at
// 16 KiB), each piece but the last without a trailing '\n'.
inline constexpr size_t kMaxLogLine = 16 * 1024;

}  // namespace capsule::agent
