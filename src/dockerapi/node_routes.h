// /nodes: list (filters), inspect, update (NodeSpec), delete. Registered by
// RegisterSwarmRoutes.
#pragma once

#include "dockerapi/backend.h"
#include "dockerapi/http/server.h"

namespace capsule::dockerapi {

void RegisterNodeRoutes(http::Router& router, Backend& backend);

}  // namespace capsule::dockerapi
