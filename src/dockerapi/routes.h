// The Docker Engine API routes Capsule serves, registered on a Router. Each file
// *_routes.cc registers one group; handlers translate HTTP <-> control API calls.
#pragma once

#include "dockerapi/backend.h"
#include "dockerapi/http/server.h"

namespace capsule::dockerapi {

void RegisterSystemRoutes(http::Router& router, Backend& backend);
void RegisterSwarmRoutes(http::Router& router, Backend& backend);
void RegisterSecretRoutes(http::Router& router, Backend& backend);
void RegisterConfigRoutes(http::Router& router, Backend& backend);
void RegisterServiceRoutes(http::Router& router, Backend& backend);
void RegisterTaskRoutes(http::Router& router, Backend& backend);
// /images (import, load, list, inspect, delete) and /distribution; any node, any swarm state.
void RegisterImageRoutes(http::Router& router, Backend& backend);
// /services/{id}/logs and /tasks/{id}/logs (this node's tasks only).
void RegisterLogRoutes(http::Router& router, Backend& backend);
// /networks (create, list, inspect, delete); network_routes.cc.
void RegisterNetworkRoutes(http::Router& router, Backend& backend);
// /capsule/secrets/{id}[/history|/rotate|/rollback|/verify]: Capsule's secret versions
// (capsule_secret_routes.cc); never a Docker route.
void RegisterCapsuleSecretRoutes(http::Router& router, Backend& backend);
// GET /capsule/audit (the secrets audit log; audit_routes.cc).
void RegisterAuditRoutes(http::Router& router, Backend& backend);
// POST /capsule/swarm/rotate-data-key, GET /capsule/swarm/data-key (data_key_routes.cc).
void RegisterDataKeyRoutes(http::Router& router, Backend& backend);

// All of the above, plus Docker's 404 "page not found" fallback.
void RegisterAllRoutes(http::Router& router, Backend& backend);

// Headers on every response: Api-Version, Docker-Experimental, Ostype, Server.
std::vector<std::pair<std::string, std::string>> CommonHeaders();

inline constexpr char kApiVersion[] = "1.41";
inline constexpr char kMinApiVersion[] = "1.12";
inline constexpr char kEngineVersion[] = "0.1.0-capsule";

}  // namespace capsule::dockerapi
