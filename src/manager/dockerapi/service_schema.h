// The Go shape of Docker's swarm.ServiceSpec, for decoding service create/update bodies with
// the engine's exact type errors (CheckGoTypes). Fields Capsule ignores are kAny.
#pragma once

#include "manager/dockerapi/http/go_json.h"

namespace capsule::dockerapi {

const http::GoSchema& ServiceSpecSchema();

}  // namespace capsule::dockerapi
