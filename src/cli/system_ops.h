// `capsule version` and `capsule info`.
#pragma once

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

inline constexpr char kClientVersion[] = "0.1.0";

// Prints the client block, then the server block from GET /version (the client block is
// printed even when the daemon cannot be reached; the error is returned after it).
Status Version(CommandContext& ctx);

// A short summary from GET /info: server version, swarm state and, when active, NodeID,
// Is Manager, ClusterID, Managers, Nodes.
Status Info(CommandContext& ctx);

}  // namespace capsule::cli
