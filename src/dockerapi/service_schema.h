// The Go shape of Docker's swarm.ServiceSpec, for decoding service create/update bodies with
// the engine's exact type errors (CheckGoTypes). Fields Capsule ignores are kAny.
#pragma once

#include <string>

#include "common/status.h"
#include "dockerapi/http/go_json.h"
#include "objects/service.h"

namespace capsule::dockerapi {

const http::GoSchema& ServiceSpecSchema();

// The body of a service create/update: Go's decoding (syntax and type errors), then the
// engine's conversion of the spec (ParseServiceSpec: enums, mode). Errors: InvalidArgument.
// Validation (names, secret references, ...) is the control API's.
StatusOr<ServiceSpec> ReadServiceSpec(const std::string& body);

}  // namespace capsule::dockerapi
