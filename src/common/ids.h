// Object identifiers as Docker makes them: 25 lower-case base-36 characters encoding
// 128 random bits (zero-padded on the left).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace capsule {

// Base-36 (0-9a-z) of a big-endian unsigned integer, left-padded with '0' to `width`.
std::string Base36(std::span<const uint8_t> big_endian, size_t width);

// A fresh random ID (libsodium's CSPRNG).
std::string NewId();

// True when s looks like an ID NewId makes (25 chars of [0-9a-z]).
bool IsValidId(std::string_view s);

}  // namespace capsule
