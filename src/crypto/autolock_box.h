// The autolock box: <data-root>/swarm/autolock (0600), present exactly while this manager is
// autolocked; it replaces the KEK file (<data-root>/swarm/kek). The unlock key K (SWMKEY-1-…)
// is the key that encrypts everything this manager keeps on disk, as in Docker, where the
// unlock key encrypts the node key and the raft DEK in its PEM headers. Here it seals the
// cluster key-wrapping key W (what the KEK file holds without autolock: W wraps the DEK
// keyring in etcd). K itself is never written in a form that opens without W:
//   Kek       Seal(K, "kek", W)                          K opens W
//   Key       Seal(W, "unlock-key", K)                   W yields the current K (after an
//                                                        unlock with the previous key)
//   Previous  Seal(K_prev, "previous/<until>", W)         the previous unlock key still opens
//                                                        W until <until> (unix seconds,
//                                                        bound into the AAD: not extensible)
// All seals are crypto::Seal (XChaCha20-Poly1305, key id 0); the file is JSON with base64 fields.
// Grace rule: one previous key, kept until its deadline or the next rotation, whichever first.
// Thread-compatible value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::crypto {

// What an accepted unlock key yields.
struct UnlockedKeys {
  SecretBytes kek;         // W, the cluster key-wrapping key
  SecretBytes unlock_key;  // the current K (not the previous one it may have been opened with)
};

class AutolockBox {
 public:
  // A box for unlock key `key` (kKeySize bytes) holding `kek`.
  static StatusOr<AutolockBox> New(const SecretBytes& key, const SecretBytes& kek);
  // A box for `new_key` holding `kek`, which `old_key` also opens until `until_unix`.
  static StatusOr<AutolockBox> Rotated(const SecretBytes& old_key, const SecretBytes& new_key,
                                       const SecretBytes& kek, int64_t until_unix);

  // `given` opens the box: it is K, or K_prev before the deadline (`now_unix` < until).
  // Any other key (or the previous key after the deadline) → Unauthenticated
  // "swarm could not be unlocked: invalid key provided".
  StatusOr<UnlockedKeys> Open(const SecretBytes& given, int64_t now_unix) const;

  bool has_previous() const { return !previous_.empty(); }
  int64_t previous_until() const { return until_; }

  std::string Serialize() const;
  // Malformed → DataLoss naming the problem.
  static StatusOr<AutolockBox> Parse(std::string_view text);

 private:
  std::string kek_;
  std::string key_;
  std::string previous_;
  int64_t until_ = 0;
};

// The box file: written atomically with mode 0600; NotFound-free read (nullopt when absent).
Status WriteAutolockBox(const std::string& path, const AutolockBox& box);
StatusOr<std::optional<AutolockBox>> ReadAutolockBox(const std::string& path);

inline constexpr char kInvalidUnlockKeyMessage[] =
    "swarm could not be unlocked: invalid key provided";

}  // namespace capsule::crypto
