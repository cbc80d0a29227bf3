// Go standard-library behaviour the docker CLI shows its users, for flag values and output:
// time.ParseDuration / Duration.String and strconv.ParseUint, with Go's error texts.
#pragma once

#include <cstdint>
#include <string>

#include "common/go_time.h"
#include "common/status.h"

namespace capsule::cli {

// time.ParseDuration (common/go_time.h; the daemon reads durations too).
using capsule::ParseGoDuration;

// time.Duration.String: "0s", "1.5s", "1m30s", "1h0m0s", "500ms", "1.5µs", "-2s".
std::string FormatGoDuration(int64_t ns);

// strconv.ParseUint(s, base, 64); base 0 reads 0x/0o/0b/0 prefixes (so "0400" is octal).
// Errors read `strconv.ParseUint: parsing "x": invalid syntax` (or `value out of range`).
StatusOr<uint64_t> ParseGoUint(const std::string& s, int base, int bits = 64);

}  // namespace capsule::cli
