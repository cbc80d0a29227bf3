// The docker CLI's resource flag types, with its error texts: --limit-memory/--reserve-memory
// (opts.MemBytes: go-units RAMInBytes, "512m", "1.5GiB"), --limit-cpu/--reserve-cpu
// (opts.NanoCPUs: a big.Rat times 1e9, "0.5", "3/2") and --limit-pids (int64). Pure.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace capsule::cli {

// go-units RAMInBytes: `<digits>[.<digits>][ ][kmgtp][i][b]`, case-insensitive units in
// powers of 1024, truncated to an integer. Error: "invalid size: '<s>'".
StatusOr<int64_t> ParseRamInBytes(const std::string& s);

// opts.NanoCPUs: a decimal ("1.5", "1e-3", "-2") or a fraction ("3/2") times 1e9, which must
// be whole. Errors: "failed to parse <s> as a rational number", "value is too precise".
StatusOr<int64_t> ParseNanoCpus(const std::string& s);

// strconv.ParseInt(s, 0, 64): `strconv.ParseInt: parsing "<s>": invalid syntax`.
StatusOr<int64_t> ParseGoInt64(const std::string& s);

}  // namespace capsule::cli
