// Docker swarm's validation rules for object specs, with swarmkit's exact messages
// (without the "rpc error: code = InvalidArgument desc = " prefix, which dockerapi adds).
// validation/ is the library capsule_validation: pure functions of a spec, no store and no
// gRPC, so the fuzz targets link it alone. It is controlapi's first step (validate, then one
// store transaction), hence its namespace.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace capsule::controlapi {

inline constexpr size_t kMaxSecretSize = 500 * 1024;  // data must be < 512000 bytes
inline constexpr size_t kMaxConfigSize = 1000 * 1024;

// Name: 1–64 chars of [A-Za-z0-9_.-], starting and ending with [A-Za-z0-9]. Matched by hand
// (no std::regex: it recurses per character and crashes on very long input).
// "" → "name must be provided"; otherwise "invalid name, only 64 [a-zA-Z0-9-_.] characters
// allowed, and the start and end character must be [a-zA-Z0-9]".
Status ValidateName(std::string_view name);

// 0 < size < kMaxSecretSize → else
// "secret data must be larger than 0 and less than 512000 bytes".
Status ValidateSecretData(size_t size);

// 0 < size < kMaxConfigSize → else
// "config data must be larger than 0 and less than 1024000 bytes".
Status ValidateConfigData(size_t size);

}  // namespace capsule::controlapi
