// Authenticated encryption of stored values with a 256-bit key (XChaCha20-Poly1305-IETF,
// libsodium). A sealed value is self-describing:
//   byte 0      format version (1)
//   bytes 1..4  key id, big-endian uint32 (which DEK sealed it; lets keys rotate)
//   bytes 5..28 random 192-bit nonce
//   rest        ciphertext || 16-byte tag
// The associated data (for the store: the etcd key) is authenticated, not stored: a value
// moved to another key fails to open.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::crypto {

inline constexpr size_t kKeySize = 32;
inline constexpr size_t kSealOverhead = 1 + 4 + 24 + 16;

// key must be kKeySize bytes (else InvalidArgument).
StatusOr<std::string> Seal(const SecretBytes& key, uint32_t key_id, std::string_view aad,
                           std::span<const uint8_t> plaintext);

// Reads the key id of a sealed value without opening it. DataLoss if too short / bad version.
StatusOr<uint32_t> SealedKeyId(std::string_view sealed);

// Opens a sealed value. DataLoss("... authentication failed") if the value, the key id or
// the aad was tampered with or the key is wrong; never returns unauthenticated bytes.
StatusOr<SecretBytes> Open(const SecretBytes& key, std::string_view aad, std::string_view sealed);

}  // namespace capsule::crypto
