#include "ca/join_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include <cstdint>

#include "common/ids.h"
#include "crypto/random.h"

namespace capsule::ca {
namespace {

bool IsBase36(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

}  // namespace

std::string RootCaDigestBase36(std::string_view root_cert_pem) {
  uint8_t md[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(md, reinterpret_cast<const uint8_t*>(root_cert_pem.data()),
                     root_cert_pem.size());
  return Base36(md, kJoinTokenDigestLen);
}

std::string NewJoinToken(std::string_view root_cert_pem) {
  std::string secret = crypto::RandomBytes(16);
  std::string token =
      std::string(kJoinTokenPrefix) + RootCaDigestBase36(root_cert_pem) + "-" +
      Base36({reinterpret_cast<const uint8_t*>(secret.data()), secret.size()}, kJoinTokenSecretLen);
  sodium_memzero(secret.data(), secret.size());
  return token;
}

StatusOr<JoinToken> ParseJoinToken(std::string_view token) {
  const std::string_view prefix(kJoinTokenPrefix);
  const size_t want = prefix.size() + kJoinTokenDigestLen + 1 + kJoinTokenSecretLen;
  if (token.size() != want || token.substr(0, prefix.size()) != prefix ||
      token[prefix.size() + kJoinTokenDigestLen] != '-') {
    return absl::InvalidArgumentError("invalid join token");
  }
  JoinToken out;
  out.root_digest = std::string(token.substr(prefix.size(), kJoinTokenDigestLen));
  out.secret = std::string(token.substr(prefix.size() + kJoinTokenDigestLen + 1));
  if (!IsBase36(out.root_digest) || !IsBase36(out.secret)) {
    return absl::InvalidArgumentError("invalid join token");
  }
  return out;
}

bool JoinTokenMatchesRoot(const JoinToken& token, std::string_view root_cert_pem) {
  return token.root_digest == RootCaDigestBase36(root_cert_pem);
}

bool JoinTokenMatches(std::string_view presented, std::string_view expected) {
  StatusOr<JoinToken> p = ParseJoinToken(presented);
  StatusOr<JoinToken> e = ParseJoinToken(expected);
  if (!p.ok() || !e.ok()) return false;
  // Both secrets have exactly kJoinTokenSecretLen chars (checked by the parser).
  bool secret_equal = CRYPTO_memcmp(p->secret.data(), e->secret.data(), kJoinTokenSecretLen) == 0;
  bool digest_equal = p->root_digest == e->root_digest;  // public
  return secret_equal && digest_equal;
}

}  // namespace capsule::ca
