#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <set>

#include "node/daemon.h"

namespace capsule::node {
namespace {

bool IsIPv4(const std::string& s) {
  in_addr a;
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool ParsePort(const std::string& s, int* port) {
  if (s.empty() || s.size() > 5) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > 65535) return false;
  *port = v;
  return true;
}

// "IP:PORT", "IP", ":PORT" → ip (may be ""), port (default kept).
Status SplitHostPort(const std::string& addr, const char* what, std::string* ip, int* port) {
  if (addr.empty()) return absl::OkStatus();
  size_t colon = addr.rfind(':');
  std::string host = colon == std::string::npos ? addr : addr.substr(0, colon);
  if (colon != std::string::npos && !ParsePort(addr.substr(colon + 1), port)) {
    return absl::InvalidArgumentError(std::string("invalid ") + what + " port: " + addr);
  }
  if (!host.empty() && !IsIPv4(host)) {
    return absl::InvalidArgumentError(std::string("invalid ") + what + " address: " + addr +
                                      " (an IPv4 address is required)");
  }
  *ip = host;
  return absl::OkStatus();
}

// The one non-loopback IPv4 address of this system, as Docker picks it.
StatusOr<std::string> SystemAddress() {
  struct ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) != 0) return absl::InternalError("getifaddrs failed");
  std::set<std::string> found;
  for (struct ifaddrs* i = ifs; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_LOOPBACK) != 0 || (i->ifa_flags & IFF_UP) == 0) continue;
    char buf[INET_ADDRSTRLEN];
    auto* sin = reinterpret_cast<struct sockaddr_in*>(i->ifa_addr);
    inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
    found.insert(buf);
  }
  freeifaddrs(ifs);
  if (found.empty()) {
    return absl::InvalidArgumentError(
        "could not find the system's IP address - please specify one with --advertise-addr");
  }
  if (found.size() > 1) {
    std::string list;
    for (const std::string& a : found) list += (list.empty() ? "" : ", ") + a;
    return absl::InvalidArgumentError(
        "could not choose an IP address to advertise since this system has multiple addresses "
        "(" +
        list + ") - specify one with --advertise-addr");
  }
  return *found.begin();
}

}  // namespace

Status ResolveAddresses(const dockerapi::InitRequest& request, int etcd_peer_port_override,
                        SwarmState* state) {
  std::string listen_ip = "0.0.0.0";
  int port = 2377;
  RETURN_IF_ERROR(SplitHostPort(request.listen_addr, "listen", &listen_ip, &port));
  if (listen_ip.empty()) listen_ip = "0.0.0.0";
  std::string adv_ip;
  int adv_port = port;
  RETURN_IF_ERROR(SplitHostPort(request.advertise_addr, "advertise", &adv_ip, &adv_port));
  if (adv_ip.empty() || adv_ip == "0.0.0.0") {
    if (listen_ip != "0.0.0.0") {
      adv_ip = listen_ip;
    } else {
      ASSIGN_OR_RETURN(adv_ip, SystemAddress());
    }
  }
  state->listen_addr = listen_ip + ":" + std::to_string(port);
  state->advertise_addr = adv_ip;
  state->swarm_port = adv_port;
  state->etcd_peer_port = etcd_peer_port_override > 0 ? etcd_peer_port_override : adv_port + 3;
  if (state->etcd_peer_port > 65535) {
    return absl::InvalidArgumentError("the etcd peer port (swarm port + 3) is out of range");
  }
  return absl::OkStatus();
}

}  // namespace capsule::node
