// Standard base64 (RFC 4648, padded), as Go's base64.StdEncoding writes it: the form the
// Docker API expects for secret Data. The result holds secret material when the input
// does; callers wipe it (capsule::WipeString) when done.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/secret_bytes.h"

namespace capsule::cli {

std::string Base64Encode(std::span<const uint8_t> bytes);

// The reverse (padded standard alphabet only); nullopt for anything else. For data the
// daemon shows (a config's Data): the bytes go into SecretBytes all the same.
std::optional<SecretBytes> Base64Decode(std::string_view text);

}  // namespace capsule::cli
