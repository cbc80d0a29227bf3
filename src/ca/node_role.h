// A node's role in the swarm, as written in its certificate's OU.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace capsule::ca {

enum class NodeRole { kWorker, kManager };

inline constexpr char kWorkerRoleName[] = "swarm-worker";
inline constexpr char kManagerRoleName[] = "swarm-manager";

// "swarm-worker" | "swarm-manager".
const char* RoleName(NodeRole role);

// Inverse of RoleName; anything else → InvalidArgument("unknown node role ...").
StatusOr<NodeRole> ParseRole(std::string_view ou);

}  // namespace capsule::ca
