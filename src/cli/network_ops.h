// The `capsule network …` operations: thin calls to the daemon's /networks API that print
// what the docker CLI prints. Errors come back as Status (the daemon's message, or
// "No such network: <name>").
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

struct NetworkCreateOptions {
  std::string name;
  std::string driver = "overlay";  // Capsule's only driver (docker's CLI defaults to bridge)
  bool attachable = false;
  bool internal = false;
  bool ipv6 = false;
  std::string scope;
  std::string ipam_driver;
  std::vector<std::string> labels;   // "k=v" or "k"
  std::vector<std::string> options;  // -o "k=v"
  std::vector<std::string> subnets;
  std::vector<std::string> gateways;   // in subnet order
  std::vector<std::string> ip_ranges;  // in subnet order
};
// Prints the new network's ID.
Status NetworkCreate(CommandContext& ctx, const NetworkCreateOptions& options);

struct NetworkListOptions {
  bool quiet = false;
  bool no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};
// NETWORK ID (12 characters unless no_trunc), NAME, DRIVER, SCOPE; sorted by name.
Status NetworkList(CommandContext& ctx, const NetworkListOptions& options);

// The networks' JSON as an indented array ("[]" when none was found).
Status NetworkInspect(CommandContext& ctx, const std::vector<std::string>& names);

// Prints each removed name.
Status NetworkRemove(CommandContext& ctx, const std::vector<std::string>& names);

}  // namespace capsule::cli
