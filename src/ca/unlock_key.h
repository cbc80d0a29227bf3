// Swarm unlock keys (autolock): "SWMKEY-1-" + unpadded standard base64 of the 32-byte KEK
// (Docker's format). The text is as secret as the key, so it lives in SecretBytes too.
#pragma once

#include <string_view>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::ca {

inline constexpr char kUnlockKeyPrefix[] = "SWMKEY-1-";

// "SWMKEY-1-<base64>" of key (any non-empty length; the KEK is 32 bytes).
SecretBytes FormatUnlockKey(const SecretBytes& key);

// Inverse of FormatUnlockKey. Wrong prefix, bad or padded base64, or an empty key →
// InvalidArgument("invalid key string") (Docker's message). Any decoded length is accepted,
// as Docker does: a key of the wrong size then simply fails to unwrap.
StatusOr<SecretBytes> ParseUnlockKey(std::string_view text);

}  // namespace capsule::ca
