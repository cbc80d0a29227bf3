// The cluster's unlock keys in the store (cluster_unlock_keys.h): read them, and make them
// follow the cluster spec's AutoLockManagers (plus a rotation) in one compare-and-swap on the
// cluster object, so the decision is always made on the spec stored with them. Any manager
// may converge at any time (the one that received `swarm update`, every manager when it sees
// the cluster change, a manager that starts): two at once agree, the loser of the race reads
// again. A crash between `swarm update` writing the spec and the keys following it is
// finished by the next converge.
// Thread-safe (the Store is); blocks on the store.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "manager/unlockkeys/cluster_unlock_keys.h"
#include "store/store.h"

namespace capsule::unlockkeys {

// Linearizable read. NotFound "cluster not found" without the cluster object.
StatusOr<std::optional<ClusterUnlockKeys>> ReadUnlockKeys(store::Store& store,
                                                          const std::string& cluster_id);

struct ConvergeOptions {
  bool rotate = false;
  std::chrono::seconds grace{600};
  const SecretBytes* adopt = nullptr;  // UnlockKeyRequest::adopt
};

// NextUnlockKeys with the stored spec, written back if it changed (store::UpdateLatest).
// → the keys stored now.
StatusOr<std::optional<ClusterUnlockKeys>> ConvergeUnlockKeys(store::Store& store,
                                                              const std::string& cluster_id,
                                                              const Clock& clock,
                                                              const ConvergeOptions& options);

}  // namespace capsule::unlockkeys
