// Per-node sealing of secrets delivered by the dispatcher (X25519 + XChaCha20-Poly1305-IETF,
// libsodium). The agent makes a fresh DeliveryKeyPair per session and sends only its public
// key; the dispatcher seals each secret to it with a fresh ephemeral key pair:
//   shared = X25519(ephemeral_sk, recipient_pk)
//   key    = BLAKE2b-256(shared || ephemeral_pk || recipient_pk)
//   sealed = ephemeral_pk (32) || nonce (24) || ciphertext || tag (16)
// with associated data DeliveryAad(secret ID, node ID, session ID), so a sealed value opens
// only for that node, that session and that secret. The shared secret and derived key live in
// SecretBytes and are wiped. Thread-safe (no shared state). InitCrypto() must have run.
#pragma once

#include <string>
#include <string_view>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::crypto {

inline constexpr size_t kDeliveryKeyBytes = 32;
inline constexpr size_t kNodeSealOverhead = 32 + 24 + 16;

// The agent's key pair for one session. Move-only; the secret key is wiped with it.
struct DeliveryKeyPair {
  std::string public_key;  // 32 bytes
  SecretBytes secret_key;  // 32 bytes
};

DeliveryKeyPair NewDeliveryKeyPair();

// InvalidArgument unless `public_key` is 32 bytes, not all zero and not of small order:
// libsodium's blocklist (0, 1, the order-8 points, p-1, p, p+1, with bit 255 either way) and
// any key for which a trial X25519 gives the all-zero result crypto_scalarmult refuses. The
// dispatcher checks it at session start, so such a key never reaches sealing.
Status ValidateDeliveryKey(std::string_view public_key);

// Associated data binding a sealed secret to its ID, the receiving node and the session.
std::string DeliveryAad(std::string_view secret_id, std::string_view node_id,
                        std::string_view session_id);

// Seals `plaintext` to `recipient_public_key`. InvalidArgument for a bad key.
StatusOr<std::string> SealForNode(std::string_view recipient_public_key, std::string_view aad,
                                  const SecretBytes& plaintext);

// Opens a value sealed to `keys`. DataLoss("sealed secret: authentication failed") on a wrong
// key, wrong aad or tampering; never returns unauthenticated bytes. The plaintext is written
// straight into the returned SecretBytes.
StatusOr<SecretBytes> OpenFromDispatcher(const DeliveryKeyPair& keys, std::string_view aad,
                                         std::string_view sealed);

}  // namespace capsule::crypto
