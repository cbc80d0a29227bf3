// The `capsule swarm …` operations (init, join, join-token, leave, update, unlock, unlock-key).
#pragma once

#include <optional>
#include <string>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

struct SwarmInitOptions {
  std::string advertise_addr;
  std::string listen_addr = "0.0.0.0:2377";
  std::string data_path_addr;
  bool autolock = false;
  bool force_new_cluster = false;
};

// POST /swarm/init with the body the docker CLI sends, then prints docker's banner:
//   Swarm initialized: current node (<id>) is now a manager.
// followed by the worker join command (GET /nodes/<id> ManagerStatus.Addr, GET /swarm
// JoinTokens.Worker) and, with --autolock, the unlock key (GET /swarm/unlockkey). If the
// node or swarm lookup answers 404 only the first line is printed.
Status SwarmInit(CommandContext& ctx, const SwarmInitOptions& options);

struct SwarmJoinOptions {
  std::string remote_addr;  // HOST:PORT of a manager
  std::string token;
  std::string advertise_addr;
  std::string listen_addr = "0.0.0.0:2377";
  std::string data_path_addr;
  std::string availability = "active";
};

// POST /swarm/join, then GET /info: "This node joined a swarm as a worker." (or manager).
Status SwarmJoin(CommandContext& ctx, const SwarmJoinOptions& options);

struct SwarmJoinTokenOptions {
  std::string role;  // worker | manager
  bool quiet = false;
  bool rotate = false;
};

// With rotate: GET /swarm, POST /swarm/update?version=N&rotate<Role>Token=true with the
// spec, "Successfully rotated <role> join token.". Then the token (-q) or docker's banner
// with the join command (manager address from GET /nodes/<self> ManagerStatus.Addr).
Status SwarmJoinToken(CommandContext& ctx, const SwarmJoinTokenOptions& options);

// POST /swarm/leave (?force=1 with --force, as docker); prints "Node left the swarm.".
Status SwarmLeave(CommandContext& ctx, bool force);

// GET /swarm, POST /swarm/update?version=N&…=false with the spec (autolock set when given),
// "Swarm updated."; when autolock went false → true, the unlock key as `swarm init --autolock`.
Status SwarmUpdate(CommandContext& ctx, std::optional<bool> autolock);

// With rotate: GET /swarm (autolock off → "cannot rotate because autolock is not turned on"),
// POST /swarm/update?…&rotateManagerUnlockKey=true, "Successfully rotated manager unlock
// key.\n\n" unless quiet. Then GET /swarm/unlockkey: "" → "no unlock key is set"; the key
// alone with quiet, else the unlock banner.
Status SwarmUnlockKey(CommandContext& ctx, bool quiet, bool rotate);

// GET /info: inactive → "This node is not part of a swarm", not locked → "swarm is not
// locked"; then the key: on a terminal after docker's prompt "Enter unlock key: " without
// echo, else one line of stdin (trimmed); POST /swarm/unlock. Prints nothing else.
Status SwarmUnlock(CommandContext& ctx);

}  // namespace capsule::cli
