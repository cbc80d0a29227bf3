#include "transport/peer_addr.h"

#include <arpa/inet.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace capsule::transport {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

constexpr char kFrontPrefix[] = "capsule-front-";

// The IP of a FrontPeerName, or "".
std::string FrontPeerIp(const std::string& name) {
  if (!StartsWith(name, kFrontPrefix)) return "";
  size_t dash = name.rfind('-');
  std::string hex = name.substr(dash + 1);
  if (hex.size() != 8 && hex.size() != 32) return "";
  for (char c : hex) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return "";
  }
  const std::string raw = absl::HexStringToBytes(hex);
  char text[INET6_ADDRSTRLEN];
  int family = hex.size() == 8 ? AF_INET : AF_INET6;
  if (inet_ntop(family, raw.data(), text, sizeof(text)) == nullptr) return "";
  return text;
}

}  // namespace

std::string FrontPeerName(const std::string& ip, const std::string& unique) {
  unsigned char raw[16];
  size_t len = 0;
  if (inet_pton(AF_INET, ip.c_str(), raw) == 1) {
    len = 4;
  } else if (inet_pton(AF_INET6, ip.c_str(), raw) == 1) {
    len = 16;
  } else {
    return "";
  }
  return absl::StrCat(kFrontPrefix, unique, "-",
                      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(raw), len)));
}

StatusOr<std::string> PeerIp(const std::string& grpc_peer) {
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("not an IP peer: ", grpc_peer));
  };
  std::string ip;
  if (StartsWith(grpc_peer, "ipv4:")) {
    std::string rest = grpc_peer.substr(5);
    size_t colon = rest.rfind(':');
    if (colon == std::string::npos) return bad();
    ip = rest.substr(0, colon);
    in_addr a4;
    if (inet_pton(AF_INET, ip.c_str(), &a4) != 1) return bad();
    return ip;
  }
  if (StartsWith(grpc_peer, "ipv6:")) {
    std::string rest = grpc_peer.substr(5);
    size_t open = 0, close = 0, skip = 0;
    if (StartsWith(rest, "[")) {
      open = 1;
      close = rest.find(']');
      skip = 1;
    } else if (StartsWith(rest, "%5B") || StartsWith(rest, "%5b")) {
      open = 3;
      close = rest.find("%5D");
      if (close == std::string::npos) close = rest.find("%5d");
      skip = 3;
    } else {
      return bad();
    }
    if (close == std::string::npos || rest.compare(close + skip, 1, ":") != 0) return bad();
    ip = rest.substr(open, close - open);
    size_t zone = ip.find('%');  // link-local zone ("fe80::1%25eth0")
    if (zone != std::string::npos) ip = ip.substr(0, zone);
    in6_addr a6;
    if (inet_pton(AF_INET6, ip.c_str(), &a6) != 1) return bad();
    return ip;
  }
  if (StartsWith(grpc_peer, "unix-abstract:")) {
    ip = FrontPeerIp(grpc_peer.substr(std::string("unix-abstract:").size()));
    if (!ip.empty()) return ip;
  }
  return bad();
}

}  // namespace capsule::transport
