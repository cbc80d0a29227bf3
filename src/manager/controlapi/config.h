// Config operations of the control API (swarmkit's controlapi/config.go), the sibling of
// SecretApi (secret.h) and sharing its code (data_object.h). Differences from secrets, as
// Docker: a 1000 KiB size limit, no driver, no `names` filter (the route refuses it), and the
// data is part of what inspect and list return. The data is still sealed in the store and
// read from it only when asked for (the read model never holds it). Returned messages are
// swarmkit's, without the gRPC prefix. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "manager/controlapi/config_spec.h"
#include "manager/controlapi/list_filters.h"
#include "objects/objects.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::controlapi {

// A config as inspect and list show it: the object, its Version.Index and its data.
struct ConfigWithData {
  Config config;
  int64_t version = 0;
  SecretBytes data;
};

class ConfigApi {
 public:
  ConfigApi(store::Store& store, const store::ReadModel& reads, const Clock& clock);

  // → the new ID.
  // InvalidArgument: name rules; data size ("config data must be larger than 0 and less than
  //   1024000 bytes").
  // AlreadyExists: "config <name> already exists" (names are unique case-insensitively).
  StatusOr<std::string> Create(const ConfigSpec& spec);

  // `id` is a full ID (resolved by the caller). Only Labels may change.
  // InvalidArgument "only updates to Labels are allowed" (name differs, or data present and
  //   different — identical data is accepted); NotFound "config <id> not found";
  // Unknown "update out of sequence" (version is not the current Version.Index).
  Status Update(const std::string& id, int64_t version, const ConfigSpec& spec);

  // NotFound "config <id> not found"; InvalidArgument "config '<name>' is in use by the
  // following service: <svc>" / "... following services: <a>, <b>".
  Status Remove(const std::string& id);

  // Swarm's listing, as SecretApi::List (filters.names is not used for configs), each with
  // its data read from the store (a config removed meanwhile is left out).
  StatusOr<std::vector<ConfigWithData>> List(const SecretFilters& filters) const;

  // ResolveConfig below.
  StatusOr<store::ConfigEntry> Resolve(const std::string& ref) const;

  // Resolve, then the config with its data from the store.
  StatusOr<ConfigWithData> Inspect(const std::string& ref) const;

 private:
  StatusOr<ConfigWithData> Read(const std::string& id) const;

  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
};

// Docker's lookup of a config by full ID, then exact name, then unique ID prefix.
// NotFound "config <ref> not found"; InvalidArgument "config <ref> is ambiguous (N matches
// found)".
StatusOr<store::ConfigEntry> ResolveConfig(const store::ReadModel& reads, const std::string& ref);

}  // namespace capsule::controlapi
