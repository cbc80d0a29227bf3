// Networks as Docker objects: the typed struct, its store encoding (Meta JSON; a network has
// no secret data) and its two API renderings — Docker's NetworkResource (GET /networks) and
// swarm's Network object (the copy inside a task's NetworksAttachments). Subnets, gateways and
// VXLAN IDs are filled in by controlapi/network.cc from the IPAM code (manager/ipam) before a
// network is stored; nothing here allocates. Pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "objects/objects.h"

namespace capsule {

inline constexpr char kNetworksKind[] = "networks";

// One IPAM.Config entry: Subnet, IPRange (swarm's "Range") and Gateway, as strings.
struct IpamConfig {
  std::string subnet;
  std::string ip_range;
  std::string gateway;
};

struct Network {
  std::string id;
  TimePoint created_at;
  TimePoint updated_at;
  std::string name;
  Labels labels;
  std::string driver = "overlay";
  std::string scope = "swarm";                 // "local" for the predefined host/none
  std::map<std::string, std::string> options;  // DriverConfiguration.Options (the user's)
  bool internal = false;
  bool attachable = false;
  bool ingress = false;
  bool enable_ipv6 = false;
  std::string ipam_driver = "default";
  std::map<std::string, std::string> ipam_options;
  std::vector<IpamConfig> ipam_spec;  // Spec.IPAMOptions.Configs: what the user gave
  std::vector<IpamConfig> ipam;       // what was allocated: subnet, gateway (and range)
  std::vector<uint32_t> vxlan_ids;    // one per subnet, from 4096 (DriverState)
};

// The predefined networks' label (swarm's "host" network carries it too).
inline constexpr char kPredefinedLabel[] = "com.docker.swarm.predefined";
inline constexpr char kVxlanOption[] = "com.docker.network.driver.overlay.vxlanid_list";

// Store encoding. Decode errors are DataLoss.
std::string EncodeNetworkMeta(const Network& n);
StatusOr<Network> DecodeNetworkMeta(std::string_view meta);

// Docker's types.NetworkResource (compact JSON), as `GET /networks/{id}` shows a swarm network
// (Containers null: tasks have no endpoints here) or a local one (Containers/Options/Labels {}).
std::string RenderNetwork(const Network& n);

// swarm's api.Network in the engine's JSON (Spec with DriverConfiguration/IPAMOptions,
// DriverState, IPAMOptions), as a task's NetworksAttachments[].Network shows it.
Json NetworkObjectJson(const Network& n, int64_t version);

}  // namespace capsule
