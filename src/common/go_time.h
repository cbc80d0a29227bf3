// Go's time parsing as Docker's API and CLIs show it to users: time.ParseDuration, and the
// timestamps `--since` takes (Docker's api/types/time.GetTimestamp, then ParseTimestamps).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace capsule {

// time.ParseDuration: "1m30s", "1.5h", "500ms", "0" → nanoseconds. Errors (InvalidArgument)
// read as Go's: `time: invalid duration "x"`, `time: missing unit in duration "5"`,
// `time: unknown unit "x" in duration "5x"`.
StatusOr<int64_t> ParseGoDuration(const std::string& s);

// A `since` value as Docker reads it, relative to `reference` (now):
//   a Go duration ("10m", "1h30m"; not "0"): reference minus it, in whole seconds;
//   an RFC 3339 time or date ("2026-11-28T10:00:00Z", "2026-11-28T10:00:00.5+01:00",
//     "2026-11-28T10:00", "2026-11-28T10", "2026-11-28"); without a zone it is read in
//     `local_offset` (Docker: the client's local zone);
//   Unix seconds with optional fraction ("1764325200", "1764325200.000000001"): what the docker
//     CLIs send, having converted the forms above.
// Anything else: InvalidArgument `failed to parse value as time or duration: "<value>"`
// (the value Go-quoted). (Docker returns time.Parse's own error for a malformed value with a
// '-' in it; this gives the same message for every bad value.)
StatusOr<TimePoint> ParseDockerTimestamp(const std::string& value, TimePoint reference,
                                         std::chrono::seconds local_offset);
// The same, in the process's local zone (TZ) at `reference`.
StatusOr<TimePoint> ParseDockerTimestamp(const std::string& value, TimePoint reference);

}  // namespace capsule
