// The `capsule node …` operations (ls, inspect, update, rm): thin clients of the Docker
// nodes API that print what the docker CLI prints. Errors come back as Status whose message
// is the text to show on stderr.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

struct NodeListOptions {
  bool quiet = false;
  std::vector<std::string> filters;  // "k=v"
  std::string format;
};

// GET /nodes[?filters=…] (and GET /info for the "*" of this node), sorted by hostname:
// ID, HOSTNAME, STATUS, AVAILABILITY, MANAGER STATUS, ENGINE VERSION.
Status NodeList(CommandContext& ctx, const NodeListOptions& options);

// GET /nodes/{ref} for each; one JSON array (4-space indent); missing → "Error: No such
// node: X" after printing the others.
Status NodeInspect(CommandContext& ctx, const std::vector<std::string>& refs);

struct NodeUpdateOptions {
  std::string node;
  std::string availability;            // "" = unchanged
  std::string role;                    // "" = unchanged
  std::vector<std::string> label_add;  // "k=v" or "k"
  std::vector<std::string> label_rm;   // "k"
};

// GET /nodes/{ref}, changes the spec, POST /nodes/{id}/update?version=N; prints the ref.
Status NodeUpdate(CommandContext& ctx, const NodeUpdateOptions& options);

// `node promote` (role "manager") / `node demote` (role "worker"), as the docker CLI: for each
// ref in turn GET /nodes/{ref}; a node already in that role prints "Node <ID> is already a
// manager." / "... worker." and is skipped; otherwise POST /nodes/{id}/update?version=N with
// the spec's Role changed, then "Node <ref> promoted to a manager in the swarm." / "Manager
// <ref> demoted in the swarm.". Stops at the first error.
Status NodeSetRole(CommandContext& ctx, const std::vector<std::string>& refs,
                   const std::string& role);

// DELETE /nodes/{ref}[?force=1] for each; prints each ref; continues past failures.
Status NodeRemove(CommandContext& ctx, const std::vector<std::string>& refs, bool force);

}  // namespace capsule::cli
