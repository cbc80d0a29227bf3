// Where data-key rotation reads and writes in etcd (docs/data-key-rotation.md).
//
// Sealed under a DEK (XChaCha20-Poly1305, the etcd key as associated data), so re-sealed by a
// rotation: every value under kSealedPrefixes —
//   /capsule/v1/objects/   every object: secrets, secret versions, configs, services, tasks,
//                          nodes, networks, the cluster, the root CA key, … (store/keys.h)
//   /capsule/v1/names/     the name-uniqueness keys (their values: the sealed object ID)
//   /capsule/v1/audit/     the secrets audit log (audit/etcd_log.h)
// Not sealed by a DEK, left alone: keys/keyring (wrapped by the KEK), keys/rotation and
// keys/loaded/ (below: ids and counts only), election/leader, presence/ (node IDs, leases).
#pragma once

#include <array>
#include <string_view>

namespace capsule::datakeys {

inline constexpr std::array<std::string_view, 3> kSealedPrefixes = {
    "/capsule/v1/objects/", "/capsule/v1/names/", "/capsule/v1/audit/"};

// The rotation's progress as the leader records it (JSON, rotation_state.h): which key the
// pass re-seals to, how far it got (its resume cursor) and its counts. No key material.
inline constexpr char kRotationKey[] = "/capsule/v1/keys/rotation";

// /capsule/v1/keys/loaded/<node ID>: the keyring revision that manager has loaded (decimal),
// written by its KeyringSync. The leader destroys a retiring key only once every manager has
// loaded the keyring that stopped sealing with it.
inline constexpr char kLoadedPrefix[] = "/capsule/v1/keys/loaded/";

}  // namespace capsule::datakeys
