#include "manager/ipam/pool.h"

#include <optional>

namespace capsule::ipam {
namespace {

constexpr uint32_t kFirstVxlanId = 4096;

Status IpamError(const std::string& what) {
  return absl::InvalidArgumentError("ipam configuration: " + what);
}

// Addresses of a prefix usable by endpoints: not the network or broadcast address of a
// subnet shorter than /31.
bool Reserved(const Ipv4Prefix& subnet, uint32_t a) {
  if (subnet.length >= 31) return false;
  return a == subnet.First() || a == subnet.Last();
}

}  // namespace

Status ValidateDefaultPools(const std::vector<std::string>& pools, uint32_t subnet_size) {
  if (pools.empty()) return absl::InvalidArgumentError("invalid default address pool: empty");
  if (subnet_size == 0 || subnet_size > 29) {
    return absl::InvalidArgumentError("invalid subnet size " + std::to_string(subnet_size) +
                                      ": it must be between the pool's prefix length and 29");
  }
  for (const std::string& p : pools) {
    StatusOr<Ipv4Prefix> prefix = ParseIpv4Prefix(p);
    if (!prefix.ok()) {
      return absl::InvalidArgumentError("invalid default address pool " + p + ": " +
                                        std::string(prefix.status().message()));
    }
    if (static_cast<uint32_t>(prefix->length) > subnet_size) {
      return absl::InvalidArgumentError("invalid default address pool " + p +
                                        ": its prefix is longer than the subnet size " +
                                        std::to_string(subnet_size));
    }
  }
  return absl::OkStatus();
}

StatusOr<std::vector<IpamConfig>> CompleteConfigs(const std::vector<IpamConfig>& given) {
  std::vector<IpamConfig> out;
  std::vector<Ipv4Prefix> subnets;
  for (const IpamConfig& c : given) {
    if (LooksLikeIpv6(c.subnet)) {
      return IpamError("IPv6 subnets are not supported: " + c.subnet);
    }
    StatusOr<Ipv4Prefix> subnet = ParseIpv4Prefix(c.subnet);
    if (!subnet.ok()) {
      return absl::UnknownError("Invalid subnet " + c.subnet + " : " +
                                std::string(subnet.status().message()));
    }
    IpamConfig done = c;
    if (!c.ip_range.empty()) {
      StatusOr<Ipv4Prefix> range = ParseIpv4Prefix(c.ip_range);
      if (!range.ok()) return IpamError("invalid range " + c.ip_range);
      if (!subnet->Contains(range->First()) || !subnet->Contains(range->Last())) {
        return IpamError("subnet " + c.subnet + " does not contain range " + c.ip_range);
      }
    }
    if (!c.gateway.empty()) {
      StatusOr<uint32_t> gw = ParseIpv4(c.gateway);
      if (!gw.ok()) return IpamError("invalid gateway " + c.gateway);
      if (!subnet->Contains(*gw)) {
        return IpamError("subnet " + c.subnet + " does not contain gateway " + c.gateway);
      }
    } else {
      done.gateway = FormatIpv4(subnet->First() + (subnet->length >= 31 ? 0 : 1));
    }
    for (const Ipv4Prefix& other : subnets) {
      if (other.Overlaps(*subnet)) {
        return IpamError("subnet " + c.subnet + " overlaps with subnet " + FormatPrefix(other));
      }
    }
    subnets.push_back(*subnet);
    out.push_back(std::move(done));
  }
  return out;
}

std::vector<Ipv4Prefix> SubnetsOf(const std::vector<const Network*>& networks) {
  std::vector<Ipv4Prefix> out;
  for (const Network* n : networks) {
    for (const IpamConfig& c : n->ipam) {
      if (StatusOr<Ipv4Prefix> p = ParseIpv4Prefix(c.subnet); p.ok()) out.push_back(*p);
    }
  }
  return out;
}

std::optional<std::pair<Ipv4Prefix, Ipv4Prefix>> FindOverlap(
    const std::vector<Ipv4Prefix>& subnets, const std::vector<Ipv4Prefix>& in_use) {
  for (const Ipv4Prefix& s : subnets) {
    for (const Ipv4Prefix& u : in_use) {
      if (s.Overlaps(u)) return std::make_pair(s, u);
    }
  }
  return std::nullopt;
}

StatusOr<Ipv4Prefix> AllocateSubnet(const std::vector<std::string>& pools, uint32_t subnet_size,
                                    const std::vector<Ipv4Prefix>& in_use) {
  for (const std::string& p : pools) {
    StatusOr<Ipv4Prefix> pool = ParseIpv4Prefix(p);
    if (!pool.ok() || subnet_size > 32 || static_cast<uint32_t>(pool->length) > subnet_size) {
      continue;
    }
    const uint64_t step = uint64_t{1} << (32 - subnet_size);
    for (uint64_t a = pool->First(); a <= pool->Last(); a += step) {
      Ipv4Prefix candidate{static_cast<uint32_t>(a), static_cast<int>(subnet_size)};
      bool free = true;
      for (const Ipv4Prefix& u : in_use) {
        if (candidate.Overlaps(u)) {
          free = false;
          // Skip past the blocking subnet at once (a /8 pool has 65,536 /24 candidates).
          if (u.Last() >= candidate.Last()) a = (uint64_t{u.Last()} + 1) - step;
          break;
        }
      }
      if (free) return candidate;
      if (a + step > 0xffffffffULL + 1) break;
    }
  }
  return absl::ResourceExhaustedError(
      "could not find an available, non-overlapping IPv4 address pool among the defaults to "
      "assign to the network");
}

uint32_t NextVxlanId(const std::set<uint32_t>& in_use) {
  uint32_t id = kFirstVxlanId;
  while (in_use.count(id) != 0) ++id;
  return id;
}

NetworkAddresses::NetworkAddresses(const Network& network) : name_(network.name) {
  for (const IpamConfig& c : network.ipam) {
    StatusOr<Ipv4Prefix> subnet = ParseIpv4Prefix(c.subnet);
    if (!subnet.ok()) continue;
    Range r;
    r.subnet = *subnet;
    r.pool = *subnet;
    if (StatusOr<Ipv4Prefix> range = ParseIpv4Prefix(c.ip_range); range.ok()) r.pool = *range;
    if (StatusOr<uint32_t> gw = ParseIpv4(c.gateway); gw.ok()) {
      r.gateway = *gw;
      r.has_gateway = true;
    }
    ranges_.push_back(r);
  }
}

bool NetworkAddresses::MarkUsed(const std::string& address) {
  const size_t slash = address.find('/');
  StatusOr<uint32_t> a = ParseIpv4(address.substr(0, slash));
  if (!a.ok()) return false;
  for (const Range& r : ranges_) {
    if (r.subnet.Contains(*a)) {
      used_.insert(*a);
      return true;
    }
  }
  return false;
}

void NetworkAddresses::Release(const std::string& address) {
  StatusOr<uint32_t> a = ParseIpv4(address.substr(0, address.find('/')));
  if (a.ok()) used_.erase(*a);
}

StatusOr<std::string> NetworkAddresses::Allocate() {
  for (const Range& r : ranges_) {
    for (uint64_t a = r.pool.First(); a <= r.pool.Last(); ++a) {
      const uint32_t addr = static_cast<uint32_t>(a);
      if (Reserved(r.subnet, addr) || (r.has_gateway && addr == r.gateway) ||
          used_.count(addr) != 0) {
        continue;
      }
      used_.insert(addr);
      return FormatAddress(addr, r.subnet.length);
    }
  }
  return absl::ResourceExhaustedError("could not allocate an address on network " + name_ +
                                      ": no available IPv4 addresses");
}

}  // namespace capsule::ipam
