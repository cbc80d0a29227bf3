// The body of POST /networks/create as the control API takes it (Docker's
// NetworkCreateRequest; a plain struct, so request parsing and its fuzz target need nothing
// from the store).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "objects/network.h"
#include "objects/objects.h"

namespace capsule::controlapi {

struct NetworkCreateRequest {
  std::string name;
  std::string driver;  // "" = Docker's default (bridge)
  std::string scope;   // "", "swarm" or "local"
  Labels labels;
  std::map<std::string, std::string> options;
  bool check_duplicate = false;
  bool internal = false;
  bool attachable = false;
  bool ingress = false;
  bool enable_ipv6 = false;
  bool config_only = false;
  std::string config_from;  // ConfigFrom.Network
  std::string ipam_driver;  // "" = default
  std::map<std::string, std::string> ipam_options;
  std::vector<IpamConfig> ipam_configs;
};

}  // namespace capsule::controlapi
