#include "manager/ipam/ipv4.h"

namespace capsule::ipam {
namespace {

// A decimal number 0..max with 1-3 digits (Go rejects more than 3 digits per part).
bool ParsePart(std::string_view s, uint32_t max, uint32_t* out) {
  if (s.empty() || s.size() > 3) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > max) return false;
  *out = v;
  return true;
}

}  // namespace

StatusOr<uint32_t> ParseIpv4(std::string_view s) {
  uint32_t addr = 0;
  std::string_view rest = s;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = rest.find('.');
    std::string_view part = i == 3 ? rest : rest.substr(0, dot);
    if ((i < 3 && dot == std::string_view::npos)) {
      return absl::InvalidArgumentError("invalid IP address: " + std::string(s));
    }
    uint32_t v = 0;
    if (!ParsePart(part, 255, &v)) {
      return absl::InvalidArgumentError("invalid IP address: " + std::string(s));
    }
    addr = (addr << 8) | v;
    if (i < 3) rest.remove_prefix(dot + 1);
  }
  return addr;
}

StatusOr<Ipv4Prefix> ParseIpv4Prefix(std::string_view s) {
  const Status bad = absl::InvalidArgumentError("invalid CIDR address: " + std::string(s));
  const size_t slash = s.find('/');
  if (slash == std::string_view::npos) return bad;
  StatusOr<uint32_t> addr = ParseIpv4(s.substr(0, slash));
  uint32_t length = 0;
  if (!addr.ok() || !ParsePart(s.substr(slash + 1), 32, &length)) return bad;
  return Ipv4Prefix{*addr, static_cast<int>(length)};
}

bool LooksLikeIpv6(std::string_view s) { return s.find(':') != std::string_view::npos; }

std::string FormatIpv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::string FormatPrefix(const Ipv4Prefix& p) { return FormatAddress(p.addr, p.length); }

std::string FormatAddress(uint32_t addr, int length) {
  return FormatIpv4(addr) + "/" + std::to_string(length);
}

}  // namespace capsule::ipam
