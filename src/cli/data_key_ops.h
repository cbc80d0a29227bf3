// `capsule swarm rotate-data-key` and the data-key lines of `capsule info`
// (docs/data-key-rotation.md; routes: dockerapi/data_key_routes.cc).
#pragma once

#include <chrono>
#include <string>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

struct RotateDataKeyOptions {
  bool detach = false;  // return once the new key is current, without waiting for the re-seal
  std::chrono::milliseconds poll{500};
};

// POST /capsule/swarm/rotate-data-key, then (unless detach) GET /capsule/swarm/data-key every
// `poll` until the rotation finished, printing a progress line whenever it changed:
//   Data key 2 is now current; re-sealing every stored value under it (retiring key 1).
//   Re-sealing: 120/340 values
//   Data key rotation done: key 2 is current, key 1 destroyed (340 values re-sealed).
// A rotation already running: the daemon's 409 message.
Status RotateDataKey(CommandContext& ctx, const RotateDataKeyOptions& options);

// The `capsule info` lines for a manager, from GET /capsule/swarm/data-key:
//   "  Data Key: 2\n  Data Key Rotation: none\n" (or "resealing 120/340 values (key 1 → 2)").
// Empty if the daemon does not serve the route.
std::string DataKeyInfoLines(CommandContext& ctx);

}  // namespace capsule::cli
