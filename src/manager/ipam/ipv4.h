// IPv4 addresses and prefixes as Go's net package reads and prints them (ParseIP, ParseCIDR),
// for the IPAM code: dotted quads only (no IPv6, no leading "0x"), prefixes "a.b.c.d/len".
// Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace capsule::ipam {

struct Ipv4Prefix {
  uint32_t addr = 0;  // as written (may have host bits set: "10.30.0.5/24" is kept so)
  int length = 0;     // 0..32

  uint32_t Mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }
  uint32_t First() const { return addr & Mask(); }     // the network address
  uint32_t Last() const { return First() | ~Mask(); }  // the broadcast address
  bool Contains(uint32_t a) const { return (a & Mask()) == First(); }
  bool Overlaps(const Ipv4Prefix& o) const { return First() <= o.Last() && o.First() <= Last(); }
};

// InvalidArgument "invalid IP address: <s>" unless s is a dotted quad of 0..255 parts.
StatusOr<uint32_t> ParseIpv4(std::string_view s);
// InvalidArgument "invalid CIDR address: <s>" (Go's message) unless s is "<IPv4>/<0..32>".
StatusOr<Ipv4Prefix> ParseIpv4Prefix(std::string_view s);
// True when s parses as an IPv6 address or prefix (contains ':'): Capsule's IPAM is IPv4 only.
bool LooksLikeIpv6(std::string_view s);

std::string FormatIpv4(uint32_t addr);
std::string FormatPrefix(const Ipv4Prefix& p);         // addr/length as stored
std::string FormatAddress(uint32_t addr, int length);  // "10.0.1.3/24"

}  // namespace capsule::ipam
