#include "manager/controlapi/secret_digest.h"

#include <sodium.h>

#include "crypto/random.h"

namespace capsule::controlapi {

StatusOr<SecretBytes> SecretDigestKey(store::Store& store) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    StatusOr<store::StoredRecord> got = store.Get(kDigestKeysKind, kSecretDigestKeyId);
    if (got.ok()) {
      if (got->record.data.size() != crypto_auth_hmacsha256_KEYBYTES) {
        return absl::DataLossError("the secret digest key is malformed");
      }
      return std::move(got->record.data);
    }
    if (!absl::IsNotFound(got.status())) return got.status();
    store::Record rec{"{}", crypto::RandomKey(crypto_auth_hmacsha256_KEYBYTES)};
    StatusOr<int64_t> made = store.Create({kDigestKeysKind, kSecretDigestKeyId, ""}, rec);
    if (made.ok()) return std::move(rec.data);
    if (!absl::IsAlreadyExists(made.status())) return made.status();
    // Another manager made it first: read theirs.
  }
  return absl::UnavailableError("the secret digest key could not be read");
}

std::string KeyedDigest(const SecretBytes& key, std::span<const uint8_t> data) {
  uint8_t mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key.data(), key.size());
  crypto_auth_hmacsha256_update(&st, data.data(), data.size());
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
  char hex[2 * sizeof mac + 1];
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  return std::string(hex, 2 * sizeof mac);
}

bool DigestsEqual(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace capsule::controlapi
