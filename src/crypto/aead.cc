#include "crypto/aead.h"

#include <sodium.h>

#include <cstring>

namespace capsule::crypto {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 1 + 4;  // version byte + key id
constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kSealOverhead == kHeaderSize + kNonceSize + kTagSize);

// The AEAD's additional data: the 5-byte header (so the version and key id are
// authenticated) followed by the caller's aad. The header has a fixed size, so the
// concatenation is unambiguous.
std::string AdditionalData(const uint8_t* header, std::string_view aad) {
  std::string ad(reinterpret_cast<const char*>(header), kHeaderSize);
  ad.append(aad.data(), aad.size());
  return ad;
}

}  // namespace

StatusOr<std::string> Seal(const SecretBytes& key, uint32_t key_id, std::string_view aad,
                           std::span<const uint8_t> plaintext) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("seal: key must be 32 bytes");
  }
  std::string out(kSealOverhead + plaintext.size(), '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  p[0] = kFormatVersion;
  p[1] = static_cast<uint8_t>(key_id >> 24);
  p[2] = static_cast<uint8_t>(key_id >> 16);
  p[3] = static_cast<uint8_t>(key_id >> 8);
  p[4] = static_cast<uint8_t>(key_id);
  uint8_t* nonce = p + kHeaderSize;
  randombytes_buf(nonce, kNonceSize);
  const std::string ad = AdditionalData(p, aad);
  static const uint8_t kEmpty[1] = {0};
  const uint8_t* m = plaintext.empty() ? kEmpty : plaintext.data();
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceSize, &clen, m, plaintext.size(),
                                             reinterpret_cast<const uint8_t*>(ad.data()), ad.size(),
                                             nullptr, nonce, key.data());
  if (clen != plaintext.size() + kTagSize) return absl::InternalError("seal: unexpected length");
  return out;
}

StatusOr<uint32_t> SealedKeyId(std::string_view sealed) {
  if (sealed.size() < kSealOverhead) return absl::DataLossError("sealed value too short");
  const auto* p = reinterpret_cast<const uint8_t*>(sealed.data());
  if (p[0] != kFormatVersion) return absl::DataLossError("sealed value: unknown format version");
  return (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | uint32_t{p[4]};
}

StatusOr<SecretBytes> Open(const SecretBytes& key, std::string_view aad, std::string_view sealed) {
  if (key.size() != kKeySize) {
    return absl::InvalidArgumentError("open: key must be 32 bytes");
  }
  RETURN_IF_ERROR(SealedKeyId(sealed).status());
  const auto* p = reinterpret_cast<const uint8_t*>(sealed.data());
  const uint8_t* nonce = p + kHeaderSize;
  const uint8_t* c = nonce + kNonceSize;
  const size_t clen = sealed.size() - kHeaderSize - kNonceSize;
  const std::string ad = AdditionalData(p, aad);
  SecretBytes out(clen - kTagSize);
  uint8_t scratch[1];
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.empty() ? scratch : out.data(), &mlen, nullptr, c, clen,
          reinterpret_cast<const uint8_t*>(ad.data()), ad.size(), nonce, key.data()) != 0) {
    return absl::DataLossError("sealed value: authentication failed");
  }
  return out;
}

}  // namespace capsule::crypto
