// Standard base64 (RFC 4648, padded), as Go's base64.StdEncoding writes it: the form the
// Docker API expects for secret Data. The result holds secret material when the input
// does; callers wipe it (capsule::WipeString) when done.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace capsule::cli {

std::string Base64Encode(std::span<const uint8_t> bytes);

}  // namespace capsule::cli
