// IPAM for swarm networks (what swarmkit's allocator and libnetwork's default IPAM driver do,
// reduced to IPv4 and one manager):
//  - a network's IPAM configs, checked and completed (default gateway) with Docker's messages;
//  - a subnet for a network created without configs, from the swarm's default address pools
//    (`swarm init --default-addr-pool`, `--default-addr-pool-mask-length`), never overlapping
//    a subnet already in use;
//  - addresses inside one network (service VIPs, task attachments): the lowest free address
//    of the first config with room, skipping the subnet's network and broadcast addresses and
//    the gateway, so a released address is the next one handed out again.
// Pure computations on values: callers build them from the store's networks, services and
// tasks, and keep concurrent allocations apart (the leader's orchestrator does all of them).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "manager/ipam/ipv4.h"
#include "objects/network.h"

namespace capsule::ipam {

// The swarm's default pools: each an IPv4 prefix, subnet_size in [prefix length, 29]
// (InvalidArgument otherwise, naming the bad value).
Status ValidateDefaultPools(const std::vector<std::string>& pools, uint32_t subnet_size);

// The user's IPAM configs, checked and completed: the error texts are Docker's (see
// network_errors in controlapi/network.cc for which layer reports them):
//   Unknown "Invalid subnet <s> : invalid CIDR address: <s>" (a missing or bad subnet),
//   InvalidArgument "ipam configuration: invalid gateway <g>" / "invalid range <r>" /
//   "subnet <s> does not contain gateway <g>" / "subnet <s> does not contain range <r>",
//   InvalidArgument "ipam configuration: IPv6 subnets are not supported: <s>" (Capsule),
//   InvalidArgument "ipam configuration: subnet <a> overlaps with subnet <b>" (two configs).
// A missing gateway becomes the subnet's first address.
StatusOr<std::vector<IpamConfig>> CompleteConfigs(const std::vector<IpamConfig>& given);

// Every subnet of these networks (unparseable ones are skipped).
std::vector<Ipv4Prefix> SubnetsOf(const std::vector<const Network*>& networks);

// The first subnet_size block of the pools (in pool order) that overlaps none of `in_use`.
// ResourceExhausted "could not find an available, non-overlapping IPv4 address pool among the
// defaults to assign to the network" (Docker's text) when there is none.
StatusOr<Ipv4Prefix> AllocateSubnet(const std::vector<std::string>& pools, uint32_t subnet_size,
                                    const std::vector<Ipv4Prefix>& in_use);

// The first of `subnets` that overlaps one of `in_use`, or nullopt.
std::optional<std::pair<Ipv4Prefix, Ipv4Prefix>> FindOverlap(const std::vector<Ipv4Prefix>& subnets,
                                                             const std::vector<Ipv4Prefix>& in_use);

// The lowest VXLAN ID >= 4096 not in `in_use` (swarm's range starts there).
uint32_t NextVxlanId(const std::set<uint32_t>& in_use);

// The addresses of one network. Not thread-safe.
class NetworkAddresses {
 public:
  explicit NetworkAddresses(const Network& network);

  // Marks "a.b.c.d/len" (or a bare address) as taken; false when it is not in the network
  // or not an address.
  bool MarkUsed(const std::string& address);
  // The lowest free address as "a.b.c.d/<subnet length>" and marks it taken.
  // ResourceExhausted "could not allocate an address on network <name>: no available IPv4
  // addresses" when every config is full (or the network has none).
  StatusOr<std::string> Allocate();
  void Release(const std::string& address);
  size_t used() const { return used_.size(); }

 private:
  struct Range {
    Ipv4Prefix subnet;
    Ipv4Prefix pool;  // IPRange, else the subnet
    uint32_t gateway = 0;
    bool has_gateway = false;
  };
  std::string name_;
  std::vector<Range> ranges_;
  std::set<uint32_t> used_;
};

}  // namespace capsule::ipam
