// The API side of data-key rotation (POST /capsule/swarm/rotate-data-key, GET
// /capsule/swarm/data-key; docs/data-key-rotation.md). Any manager may begin a rotation: it
// stages a new key in the keyring in etcd, then activates it, each step one compare-and-swap
// on the keyring's mod_revision (so two managers beginning at once cannot both win). The
// leader's Resealer (resealer.h) then re-seals every value and destroys the old key.
// Thread-safe; `client`, `kek` and `sync` must outlive it.
#pragma once

#include "common/secret_bytes.h"
#include "common/status.h"
#include "manager/datakeys/keyring_sync.h"
#include "manager/datakeys/rotation_state.h"
#include "store/etcd/etcd_client.h"

namespace capsule::datakeys {

// The refusal of a second rotation while one runs (409).
inline constexpr char kRotationInProgress[] = "a data key rotation is already in progress";

class DataKeyRotation {
 public:
  DataKeyRotation(etcd::Client& client, const SecretBytes& kek, KeyringSync& sync)
      : client_(client), kek_(kek), sync_(sync) {}

  // Stages a new key, makes it the active one and reloads this manager's keyring (its next
  // writes seal under the new key). Returns the state after. AlreadyExists
  // kRotationInProgress (with the progress) while the keyring holds more than one key, or
  // when another manager changed the keyring first; store errors as they come.
  StatusOr<DataKeyState> Begin();

  // The keyring's ids and the leader's progress record, read from etcd (linearizable).
  StatusOr<DataKeyState> State() const;

 private:
  etcd::Client& client_;
  const SecretBytes& kek_;
  KeyringSync& sync_;
};

// The keyring as stored: unwrapped, with its mod_revision. NotFound if there is none.
struct StoredKeyring {
  crypto::Keyring keyring;
  int64_t mod_revision = 0;
};
StatusOr<StoredKeyring> ReadKeyring(etcd::Client& client, const SecretBytes& kek);

// Wraps `keyring` and writes it if the stored keyring's mod_revision is still
// `expected_revision` (and, when `fence` is set, the fence holds: store/fence.h). Returns the
// new mod_revision; Aborted if the keyring changed meanwhile, FailedPrecondition
// store::kNotLeaderMessage if the fence failed.
StatusOr<int64_t> WriteKeyring(etcd::Client& client, const SecretBytes& kek,
                               const crypto::Keyring& keyring, int64_t expected_revision,
                               const etcd::Compare* fence);

}  // namespace capsule::datakeys
