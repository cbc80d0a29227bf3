// Secret versions as the manager, the dispatcher and the agent all see them (Capsule's
// extension; docs/secret-versions.md). Pure functions.
//
//  - A service pins, per referenced secret, the version its tasks mount
//    (Service::secret_versions); a task records the versions it was made with
//    (Task::secret_versions). A secret missing from either map is version 1: tasks and services
//    stored before versions existed need no migration.
//  - The data of version n >= 2 is its own store object, kind "secretversions", ID
//    "<secret ID>.<n>" (VersionObjectId); version 1's data stays in the secret's own record.
//  - A node gets each (secret, version) its tasks need as its own AssignedSecret, under the
//    delivery ID DeliveryId(secret, version): the secret ID itself for version 1 (what nodes
//    got before versions existed), "<secret ID>@<n>" otherwise. The agent's secret cache is
//    keyed by delivery ID, so two tasks on one node can mount two versions of one secret
//    (a start-first rotation) and a later live refresh can swap one version for another.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace capsule {

inline constexpr char kSecretVersionsKind[] = "secretversions";

// The version `secret_id` has in `pins` (1 when not named).
int64_t PinnedVersion(const std::map<std::string, int64_t>& pins, const std::string& secret_id);

// "<secret ID>.<n>": the store ID of version n's data object (n >= 2).
std::string VersionObjectId(std::string_view secret_id, int64_t version);

// The ID a (secret, version) travels and is cached under on a node.
std::string DeliveryId(std::string_view secret_id, int64_t version);

struct SecretVersionRef {
  std::string secret_id;
  int64_t version = 1;
};
// Inverse of DeliveryId; nullopt when the version part is not a number >= 2.
std::optional<SecretVersionRef> ParseDeliveryId(std::string_view delivery_id);

}  // namespace capsule
