// A service's registry credentials (`docker service create|update --with-registry-auth`: the
// X-Registry-Auth header value, base64url of an AuthConfig JSON) kept like a secret's data:
// each value is its own store object of kind "pullauths" whose sealed data part holds the
// header bytes and whose meta holds only the owning service's ID. The service names the
// objects of its Spec and PreviousSpec (Service::pull_auth_id / previous_pull_auth_id, as
// Docker keeps ContainerSpec.PullOptions.RegistryAuth in both). A new value is a new object
// (a fresh ID), so a node that holds the old one is sent the new one under its own ID.
// Never logged; never rendered by any API. Thread-safe (the Store is).
#pragma once

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "store/store.h"

namespace capsule::controlapi {

inline constexpr char kPullAuthsKind[] = "pullauths";

// Where `service update` without X-Registry-Auth takes the credentials from (Docker's
// registryAuthFrom): the current Spec (the default) or the PreviousSpec.
enum class PullAuthFrom { kSpec, kPreviousSpec };

// The credentials an update sets: `header` when non-empty, else those of `from`.
struct PullAuthUpdate {
  SecretBytes header;
  PullAuthFrom from = PullAuthFrom::kSpec;
};

// Stores `header` for service `service_id` → the new object's ID.
StatusOr<std::string> CreatePullAuth(store::Store& store, const std::string& service_id,
                                     const SecretBytes& header);

// Deletes the object `id` ("" = nothing); a failure is logged (by ID) and otherwise ignored:
// an unreferenced object is never delivered anywhere.
void DeletePullAuth(store::Store& store, const std::string& id);

// The header bytes stored under `id`. NotFound when it is gone.
StatusOr<SecretBytes> ReadPullAuth(store::Store& store, const std::string& id);

}  // namespace capsule::controlapi
