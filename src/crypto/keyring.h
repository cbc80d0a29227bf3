// The cluster's data-encryption keys (DEKs). One key is active for sealing; all known keys
// can open (rotation keeps old ones until everything is re-sealed). The keyring itself is
// stored in etcd wrapped by the key-encryption key (KEK).
//
// Thread-safe: Seal/Open/NameIndex/Wrap may run concurrently; Rotate, Stage, Activate, Remove
// and Adopt take a writer lock. A default-constructed Keyring is empty: Seal/Open →
// FailedPrecondition; calling NameIndex on it is a programming error and aborts.
//
// Data-key rotation (docs/data-key-rotation.md): a new key is first staged (held, able to
// open, not used to seal), then activated; the keys below the active id are retiring until
// every value they sealed is re-sealed, then removed. A key that leaves the keyring (Remove,
// or Adopt of a keyring without it) is wiped from memory at once (SecretBytes).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::crypto {

class Keyring {
 public:
  // A new keyring with one fresh random DEK (id 1) and a fresh name-index key.
  static Keyring Generate();

  Keyring() = default;
  Keyring(Keyring&&) noexcept;
  Keyring& operator=(Keyring&&) noexcept;

  StatusOr<std::string> Seal(std::string_view aad, std::span<const uint8_t> plaintext) const;
  StatusOr<SecretBytes> Open(std::string_view aad, std::string_view sealed) const;

  // HMAC-SHA256 under the name-index key of the lower-cased (ASCII) name, as 64 hex chars.
  // Used for the name-uniqueness keys, so names never appear in plaintext in etcd.
  std::string NameIndex(std::string_view name) const;

  uint32_t active_key_id() const;

  // Adds a fresh random DEK with id (highest id + 1) and makes it the active one; older
  // keys stay so values they sealed still open. Returns the new id. The name-index key
  // never changes (the index keys in etcd would otherwise all move).
  uint32_t Rotate();

  // Ids of all keys held, ascending.
  std::vector<uint32_t> key_ids() const;

  // Adds a fresh random DEK with id (highest id + 1) without making it active: it opens, it
  // does not seal yet. Returns the new id.
  uint32_t Stage();
  // Makes key `id` the one that seals. NotFound if it is not held.
  Status Activate(uint32_t id);
  // Removes key `id` and wipes its bytes. NotFound if it is not held; FailedPrecondition for
  // the active key.
  Status Remove(uint32_t id);
  // Replaces every key (and the active id) with `newer`'s, e.g. the keyring just read back
  // from etcd; keys `newer` does not hold are wiped. `newer` is left empty. An empty `newer`
  // is refused (FailedPrecondition): a keyring never becomes empty once it held a key.
  Status Adopt(Keyring&& newer);

  // Called by Open, outside every lock, when a value names a key id this keyring does not
  // hold (another manager may have staged or activated a key this one has not loaded yet);
  // Open then looks the id up once more. nullptr clears it; once that call returns, the
  // previous handler is not running and is never called again.
  void SetMissHandler(std::function<void(uint32_t id)> handler);

  // Serialises every key (ids, key bytes, active id, index key) and seals the result under
  // the KEK (aad "capsule/keyring/v1", key id 0). Opening with a wrong KEK → DataLoss; a
  // payload that authenticates but does not parse → DataLoss. Wrap of an empty keyring →
  // FailedPrecondition. Format inside the seal (big-endian integers):
  //   u8 version (1) | u32 active id | 32-byte index key | u32 count | count × (u32 id, 32 bytes)
  StatusOr<std::string> Wrap(const SecretBytes& kek) const;
  static StatusOr<Keyring> Unwrap(const SecretBytes& kek, std::string_view wrapped);

 private:
  mutable std::shared_mutex mu_;
  mutable std::shared_mutex miss_mu_;  // guards miss_ (held shared while it runs)
  std::function<void(uint32_t)> miss_;
  std::map<uint32_t, SecretBytes> keys_;
  uint32_t active_ = 0;
  SecretBytes index_key_;
};

// The KEK file (without autolock): 32 random bytes, mode 0600, created atomically with
// O_EXCL|O_NOFOLLOW if missing. A file with another size or group/other permissions →
// FailedPrecondition naming the path. Errors name the path.
StatusOr<SecretBytes> LoadOrCreateKekFile(const std::string& path);

}  // namespace capsule::crypto
