// The IP address a gRPC call came from, taken from ServerContext::peer() ("ipv4:1.2.3.4:5",
// "ipv6:[::1]:5" or its percent-encoded form "ipv6:%5B::1%5D:5"). Used where the manager
// must record an address it observed rather than one the client claims.
//
// A join connection reaches the join server through the swarm front's pump (swarm_front.h),
// over a socket pair whose front end the front names FrontPeerName(<the client's IP>) in the
// abstract unix namespace: its gRPC peer is "unix-abstract:<that name>", and PeerIp reads the
// client's IP back from it. Only the front makes connections to that server, so the name
// cannot be chosen by a client.
#pragma once

#include <string>

#include "common/status.h"

namespace capsule::transport {

// The textual IP of a gRPC peer URI. Anything else (unix sockets, garbage) → InvalidArgument.
StatusOr<std::string> PeerIp(const std::string& grpc_peer);

// "capsule-front-<unique>-<the IP's bytes in hex>". `ip` must be a textual IPv4 or IPv6
// address (else ""); `unique` must not contain '-' and keeps names apart in the namespace.
std::string FrontPeerName(const std::string& ip, const std::string& unique);

}  // namespace capsule::transport
