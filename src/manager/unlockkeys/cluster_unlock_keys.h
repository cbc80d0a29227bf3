// The swarm's unlock keys: one set for every manager, as swarmkit's Cluster.UnlockKeys. They
// are the data part of the cluster object (store::Record::data of objects/cluster/<id>), so
// they are sealed under the DEK like every stored value, replicated with the cluster object
// and written atomically with its spec. A locked manager holds no key material and cannot
// read them. Every other writer of the cluster object rewrites only its meta (a
// read-modify-write of the whole record), so the keys are kept.
//
// What they hold (`Encode`):
//   current         K, the unlock key every manager's autolock box opens with (32 bytes)
//   previous        the key K replaced, or empty
//   previous_until  unix seconds: the previous key still unlocks before this instant (the grace
//                   rule of crypto/autolock_box.h, one deadline for every manager)
// No keys stored ↔ autolock off. `NextUnlockKeys` is the rule a spec change applies (below).
// Value types and pure functions; thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::unlockkeys {

struct ClusterUnlockKeys {
  SecretBytes current;
  SecretBytes previous;
  int64_t previous_until = 0;

  ClusterUnlockKeys Copy() const;
};

// The cluster object's data: empty without keys.
SecretBytes EncodeUnlockKeys(const std::optional<ClusterUnlockKeys>& keys);
// nullopt for empty data; DataLoss for anything malformed.
StatusOr<std::optional<ClusterUnlockKeys>> DecodeUnlockKeys(const SecretBytes& data);

struct UnlockKeyRequest {
  bool autolock = false;  // the cluster spec's EncryptionConfig.AutoLockManagers
  bool rotate = false;    // rotateManagerUnlockKey
  TimePoint now;
  std::chrono::seconds grace{0};  // how long the previous key still unlocks after a rotation
  // A key to keep when autolock is on and no key is stored yet (a manager that was locked
  // with a key of its own before the keys were the cluster's); empty: a new random key.
  const SecretBytes* adopt = nullptr;
};

// Changes `keys` as Docker's UpdateCluster does (swarmkit manager/controlapi/cluster.go):
//   autolock on, no key yet     → a new key (or the adopted one)
//   autolock on, rotate         → a new key; the old one becomes `previous` until now + grace
//                                 (replacing any older previous key)
//   autolock off                → no keys (rotate alone does nothing, silently)
// → whether `keys` changed. `random` makes a new 32-byte key.
bool NextUnlockKeys(std::optional<ClusterUnlockKeys>& keys, const UnlockKeyRequest& request,
                    const std::function<SecretBytes()>& random);

int64_t UnixSeconds(TimePoint t);

}  // namespace capsule::unlockkeys
