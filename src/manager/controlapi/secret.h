// Secret operations of the control API (swarmkit's controlapi/secret.go). Each call:
// validate (bad input → InvalidArgument, nothing written), one store transaction, map store
// errors. Returned messages are swarmkit's, without the gRPC prefix. Secret data never
// leaves through this API. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "manager/controlapi/audited_write.h"
#include "manager/controlapi/list_filters.h"
#include "manager/controlapi/secret_spec.h"
#include "objects/objects.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::controlapi {

class SecretApi {
 public:
  SecretApi(store::Store& store, const store::ReadModel& reads, const Clock& clock);

  // → the new ID.
  // InvalidArgument: name rules; data size ("secret data must be larger than 0 and less than
  //   512000 bytes"); a driver other than none.
  // AlreadyExists: "secret <name> already exists" (names are unique case-insensitively).
  // With a recorder in `audit`, the "create" event is written with the secret
  // (audited_write.h): a secret is never stored without it.
  StatusOr<std::string> Create(const SecretSpec& spec, const AuditContext& audit = {});

  // `id` is a full ID (resolved by the caller). Only Labels may change.
  // InvalidArgument "only updates to Labels are allowed" (name differs, or data present and
  //   different — identical data is accepted); NotFound "secret <id> not found";
  // Unknown "update out of sequence" (version is not the current Version.Index).
  Status Update(const std::string& id, int64_t version, const SecretSpec& spec);

  // NotFound "secret <id> not found"; InvalidArgument "secret '<name>' is in use by the
  // following service: <svc>" / "... following services: <a>, <b>"; Unknown "update out of
  // sequence" (changed concurrently on every attempt). With a recorder in `audit`, the
  // "remove" event is written with the removal.
  Status Remove(const std::string& id, const AuditContext& audit = {});

  // Reads (secret_queries.cc): served from the read model once it has caught up with this
  // manager's writes (Unavailable when it does not in time).

  // Swarm's listing: the first non-empty filter among names, name prefixes and ID prefixes
  // chooses the index walked (names in filter order, name prefixes in lower-cased name
  // order, ID prefixes in ID order; unfiltered in ID order); then every filter must match,
  // and each secret appears once. Names compare case-insensitively, IDs exactly.
  StatusOr<std::vector<store::SecretEntry>> List(const SecretFilters& filters) const;

  // ResolveSecret below.
  StatusOr<store::SecretEntry> Resolve(const std::string& ref) const;

 private:
  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
};

// Docker's lookup of a secret by full ID, then exact name, then unique ID prefix (the engine
// does this before calling the control API; its messages carry no gRPC prefix).
// NotFound "secret <ref> not found"; InvalidArgument "secret <ref> is ambiguous (N matches found)".
StatusOr<store::SecretEntry> ResolveSecret(const store::ReadModel& reads, const std::string& ref);

}  // namespace capsule::controlapi
