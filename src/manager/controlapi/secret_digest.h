// The keyed digest of a secret version (`capsule secret history|verify`): HMAC-SHA256 of the
// data under the cluster's digest key, a random 256-bit key made once per swarm and kept in the
// store as the sealed data of the object digestkeys/secrets (sealed under the cluster DEK like
// every stored value, replicated with the rest). Never a plain hash: a plain SHA-256 of a
// low-entropy password is a dictionary lookup for anyone who sees it; the HMAC is worthless
// without the key, which never leaves the managers. Thread-safe.
#pragma once

#include <span>
#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "store/store.h"

namespace capsule::controlapi {

inline constexpr char kDigestKeysKind[] = "digestkeys";
inline constexpr char kSecretDigestKeyId[] = "secrets";

// The digest key, created (random) by the first caller; concurrent first callers on several
// managers agree on one (the store's create is exclusive; the loser reads the winner's).
StatusOr<SecretBytes> SecretDigestKey(store::Store& store);

// HMAC-SHA256(key, data) as 64 lower-case hex characters.
std::string KeyedDigest(const SecretBytes& key, std::span<const uint8_t> data);

// Constant-time equality of two digests (lengths are not secret).
bool DigestsEqual(const std::string& a, const std::string& b);

}  // namespace capsule::controlapi
