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
