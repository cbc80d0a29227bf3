// The cluster's data-encryption keys (DEKs). One key is active for sealing; all known keys
// can open (rotation keeps old ones until everything is re-sealed). The keyring itself is
// stored in etcd wrapped by the key-encryption key (KEK).
//
// Thread-safe: Seal/Open/NameIndex/Wrap may run concurrently; Rotate takes a writer lock.
// A default-constructed Keyring is empty: Seal/Open → FailedPrecondition; calling
// NameIndex on it is a programming error and aborts.
#pragma once

#include <cstdint>
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

  // Serialises every key (ids, key bytes, active id, index key) and seals the result under
  // the KEK (aad "capsule/keyring/v1", key id 0). Opening with a wrong KEK → DataLoss; a
  // payload that authenticates but does not parse → DataLoss. Wrap of an empty keyring →
  // FailedPrecondition. Format inside the seal (big-endian integers):
  //   u8 version (1) | u32 active id | 32-byte index key | u32 count | count × (u32 id, 32 bytes)
  StatusOr<std::string> Wrap(const SecretBytes& kek) const;
  static StatusOr<Keyring> Unwrap(const SecretBytes& kek, std::string_view wrapped);

 private:
  mutable std::shared_mutex mu_;
  std::map<uint32_t, SecretBytes> keys_;
  uint32_t active_ = 0;
  SecretBytes index_key_;
};

// The KEK file (without autolock): 32 random bytes, mode 0600, created atomically with
// O_EXCL|O_NOFOLLOW if missing. A file with another size or group/other permissions →
// FailedPrecondition naming the path. Errors name the path.
StatusOr<SecretBytes> LoadOrCreateKekFile(const std::string& path);

}  // namespace capsule::crypto
