#include "crypto/node_seal.h"

#include <sodium.h>

#include <cstring>

namespace capsule::crypto {
namespace {

constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
static_assert(kDeliveryKeyBytes == crypto_scalarmult_BYTES);
static_assert(kNodeSealOverhead == kDeliveryKeyBytes + kNonceBytes + kTagBytes);

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// key = BLAKE2b-256(shared || epk || rpk). Internal error if the X25519 result is all zero
// (a low-order recipient key).
StatusOr<SecretBytes> DeriveKey(const unsigned char* our_sk, std::string_view their_pk,
                                std::string_view epk, std::string_view rpk) {
  SecretBytes shared(crypto_scalarmult_BYTES);
  if (crypto_scalarmult(shared.data(), our_sk, U(their_pk)) != 0) {
    return absl::InvalidArgumentError("delivery key is not a usable X25519 public key");
  }
  SecretBytes key(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, key.size());
  crypto_generichash_update(&st, shared.data(), shared.size());
  crypto_generichash_update(&st, U(epk), epk.size());
  crypto_generichash_update(&st, U(rpk), rpk.size());
  crypto_generichash_final(&st, key.data(), key.size());
  sodium_memzero(&st, sizeof(st));
  return key;
}

// The X25519 public keys of small order (libsodium's blocklist in has_small_order): 0 and 1,
// the two points of order 8, p-1, p and p+1. X25519 ignores bit 255, so a key matches an
// entry when its low 255 bits do (14 encodings in all).
constexpr unsigned char kSmallOrderPoints[][kDeliveryKeyBytes] = {
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

bool IsSmallOrderPoint(std::string_view key) {
  for (const auto& point : kSmallOrderPoints) {
    unsigned char diff = (static_cast<unsigned char>(key[31]) & 0x7f) ^ point[31];
    for (size_t i = 0; i < kDeliveryKeyBytes - 1; ++i) {
      diff |= static_cast<unsigned char>(key[i]) ^ point[i];
    }
    if (diff == 0) return true;
  }
  return false;
}

// Whether X25519 with `key` yields a non-zero shared secret: a trial multiplication by a
// clamped scalar (a multiple of 8, so any point of small order, however encoded, gives the
// all-zero result that crypto_scalarmult refuses with -1).
bool GivesNonZeroSharedSecret(std::string_view key) {
  SecretBytes scalar(crypto_scalarmult_SCALARBYTES);
  randombytes_buf(scalar.data(), scalar.size());
  SecretBytes out(crypto_scalarmult_BYTES);
  return crypto_scalarmult(out.data(), scalar.data(), U(key)) == 0;
}

}  // namespace

DeliveryKeyPair NewDeliveryKeyPair() {
  DeliveryKeyPair kp;
  kp.public_key.resize(crypto_box_PUBLICKEYBYTES);
  kp.secret_key = SecretBytes(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(reinterpret_cast<unsigned char*>(kp.public_key.data()), kp.secret_key.data());
  return kp;
}

Status ValidateDeliveryKey(std::string_view public_key) {
  if (public_key.size() != kDeliveryKeyBytes) {
    return absl::InvalidArgumentError("delivery_public_key must be 32 bytes");
  }
  if (sodium_is_zero(U(public_key), public_key.size())) {
    return absl::InvalidArgumentError("delivery_public_key must not be all zero");
  }
  if (IsSmallOrderPoint(public_key) || !GivesNonZeroSharedSecret(public_key)) {
    return absl::InvalidArgumentError(
        "delivery_public_key is a point of small order (anyone could open what is sealed to "
        "it)");
  }
  return absl::OkStatus();
}

std::string DeliveryAad(std::string_view secret_id, std::string_view node_id,
                        std::string_view session_id) {
  // IDs never contain NUL; the separators keep the concatenation unambiguous.
  std::string aad = "capsule-delivery-v1";
  for (std::string_view part : {secret_id, node_id, session_id}) {
    aad.push_back('\0');
    aad.append(part);
  }
  return aad;
}

StatusOr<std::string> SealForNode(std::string_view recipient_public_key, std::string_view aad,
                                  const SecretBytes& plaintext) {
  RETURN_IF_ERROR(ValidateDeliveryKey(recipient_public_key));
  DeliveryKeyPair eph = NewDeliveryKeyPair();
  ASSIGN_OR_RETURN(SecretBytes key, DeriveKey(eph.secret_key.data(), recipient_public_key,
                                              eph.public_key, recipient_public_key));
  std::string out(kNodeSealOverhead + plaintext.size(), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  std::memcpy(p, eph.public_key.data(), kDeliveryKeyBytes);
  randombytes_buf(p + kDeliveryKeyBytes, kNonceBytes);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(p + kDeliveryKeyBytes + kNonceBytes, &clen,
                                             plaintext.data(), plaintext.size(), U(aad), aad.size(),
                                             nullptr, p + kDeliveryKeyBytes, key.data());
  return out;
}

StatusOr<SecretBytes> OpenFromDispatcher(const DeliveryKeyPair& keys, std::string_view aad,
                                         std::string_view sealed) {
  const Status auth_failed = absl::DataLossError("sealed secret: authentication failed");
  if (sealed.size() < kNodeSealOverhead || keys.secret_key.size() != kDeliveryKeyBytes) {
    return auth_failed;
  }
  std::string_view epk = sealed.substr(0, kDeliveryKeyBytes);
  std::string_view nonce = sealed.substr(kDeliveryKeyBytes, kNonceBytes);
  std::string_view ct = sealed.substr(kDeliveryKeyBytes + kNonceBytes);
  StatusOr<SecretBytes> key = DeriveKey(keys.secret_key.data(), epk, epk, keys.public_key);
  if (!key.ok()) return auth_failed;
  SecretBytes plain(ct.size() - kTagBytes);
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &plen, nullptr, U(ct), ct.size(),
                                                 U(aad), aad.size(), U(nonce), key->data()) != 0) {
    return auth_failed;
  }
  return plain;
}

}  // namespace capsule::crypto
