// Services and tasks in the Docker Engine API's JSON shape. Field order and omitempty rules
// follow the engine's Go types (api/types/swarm) and the daemon's conversion from swarmkit
// (daemon/cluster/convert), checked against the oracle's service-inspect.json and tasks.json.
// Parsing is structural (types, enums), with Go's case-insensitive key matching; Docker's
// validation rules and messages live in manager/controlapi/validation. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "objects/objects.h"
#include "objects/service_model.h"

namespace capsule {

// API JSON. ServiceJson/TaskJson: with Version.Index = version.
Json ServiceSpecJson(const ServiceSpec& s);
Json TaskSpecJson(const TaskSpec& s);
Json ServiceJson(const Service& s, int64_t version);
Json TaskJson(const Task& t, int64_t version);

// Parse an API spec (POST /services/create, /services/{id}/update bodies). InvalidArgument
// with a message naming the field on wrong types or unknown enum values.
StatusOr<ServiceSpec> ParseServiceSpec(const Json& j);
StatusOr<TaskSpec> ParseTaskSpec(const Json& j);

// The same, for a spec found at `path` inside a larger document (the store codec's "Spec",
// "PreviousSpec"): error messages name the field from there ("invalid Spec.Name: ...").
// A non-object is "invalid <path>: expected object" ("ServiceSpec"/"TaskSpec" when path is "").
Status ParseServiceSpecAt(const Json& j, const std::string& path, ServiceSpec* out);
Status ParseTaskSpecAt(const Json& j, const std::string& path, TaskSpec* out);

}  // namespace capsule
