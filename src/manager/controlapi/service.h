// Service operations of the control API (swarmkit's controlapi/service.go). Each call:
// validate (bad input → InvalidArgument, nothing written), one store transaction, map store
// errors. Returned messages are swarmkit's, without the gRPC prefix (dockerapi adds it), except
// where noted as the engine's own. This API creates and edits services only; tasks are the
// orchestrator's. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "manager/controlapi/list_filters.h"
#include "manager/controlapi/pull_auth.h"
#include "manager/controlapi/secret_refresh.h"
#include "objects/service.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::controlapi {

// A service's tasks as swarmkit's ListServiceStatuses counts them.
struct ServiceTaskCounts {
  uint64_t running = 0;    // observed RUNNING
  uint64_t desired = 0;    // replicated: Replicas; global: tasks desired RUNNING
  uint64_t completed = 0;  // (jobs only; always 0 here)
};

class ServiceApi {
 public:
  ServiceApi(store::Store& store, const store::ReadModel& reads, const Clock& clock);

  // → the new service. An empty name gets a random one (as the engine does).
  // InvalidArgument: ValidateServiceSpec's rules; "secret not found: <name>" /
  //   "secrets not found: a, b" (unknown ID, or SecretName is not that secret's name); then
  //   "config not found: <name>" / "configs not found: a, b" likewise.
  // Unknown: constraint syntax (swarmkit's plain errors).
  // AlreadyExists: "name conflicts with an existing object: service <name> already exists".
  // `registry_auth` (X-Registry-Auth, may be empty) is kept sealed with the service
  // (pull_auth.h) and never returned.
  // `refresh`: Capsule's live-refresh policies by secret name (secret_refresh.h; only from
  // /capsule/services/create), checked before anything is written (its InvalidArgument
  // errors).
  StatusOr<Service> Create(ServiceSpec spec, const SecretBytes& registry_auth = SecretBytes(),
                           const RefreshChanges& refresh = {});

  // `id` is a full ID. Replaces the spec (the old one becomes PreviousSpec, UpdateStatus is
  // cleared), or with `rollback` swaps Spec and PreviousSpec (`spec` is then ignored) and sets
  // UpdateStatus rollback_started "manually requested rollback".
  // NotFound "service <id> not found"; the Create validation errors; Unimplemented
  // "service mode change is not allowed" / "renaming services is not supported";
  // Registry credentials: `auth` as the engine takes them (pull_auth.h); a rollback swaps them
  // with the spec.
  // FailedPrecondition "service <id> does not have a previous spec" (rollback);
  // Unknown "update out of sequence" (version is not the current Version.Index).
  // Live refresh: the policies of secrets the new spec no longer references (or mounts
  // outside /run/secrets) are dropped; `refresh` (by secret name, from
  // /capsule/services/{id}/update) then changes them, its errors refusing the whole update.
  Status Update(const std::string& id, int64_t version, const ServiceSpec& spec, bool rollback,
                const PullAuthUpdate& auth = {}, const RefreshChanges& refresh = {});

  // NotFound "service <id> not found"; Unknown "update out of sequence" (changed
  // concurrently on every attempt).
  Status Remove(const std::string& id);

  // Reads (service_queries.cc): served from the read model once it has caught up with this
  // manager's writes (Unavailable when it does not in time).

  // The services matching `filters`, in ID order, or in case-insensitive name order when
  // name prefixes are given (swarmkit walks its name index then).
  StatusOr<std::vector<store::ServiceEntry>> List(const ServiceFilters& filters) const;

  // ResolveService below.
  StatusOr<store::ServiceEntry> Resolve(const std::string& ref) const;

  // Resolve, and with `insert_defaults` swarmkit's defaults merged into the unset fields
  // (the entry's JSON is rendered for that service).
  StatusOr<store::ServiceEntry> Inspect(const std::string& ref, bool insert_defaults) const;

  // The counts of `service`'s tasks as the model holds them now (no wait: call after List).
  ServiceTaskCounts TaskCounts(const Service& service) const;

 private:
  Status CheckReferencedObjects(const ServiceSpec& spec) const;

  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
};

// The engine's lookup (no gRPC prefix): full ID, then exact name, then unique ID prefix. NotFound
// "service <ref> not found"; InvalidArgument "service <ref> is ambiguous (N matches found)".
StatusOr<store::ServiceEntry> ResolveService(const store::ReadModel& reads, const std::string& ref);

// Names of the services whose current spec references secret `secret_id`, in ID order.
std::vector<std::string> ServicesUsingSecret(const store::ReadModel& reads,
                                             const std::string& secret_id);
// The same for config `config_id`.
std::vector<std::string> ServicesUsingConfig(const store::ReadModel& reads,
                                             const std::string& config_id);

}  // namespace capsule::controlapi
