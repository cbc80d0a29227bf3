// The IP address a gRPC call came from, taken from ServerContext::peer() ("ipv4:1.2.3.4:5",
// "ipv6:[::1]:5" or its percent-encoded form "ipv6:%5B::1%5D:5"). Used where the manager
// must record an address it observed rather than one the client claims.
#pragma once

#include <string>

#include "common/status.h"

namespace capsule::transport {

// The textual IP of a gRPC peer URI. Anything else (unix sockets, garbage) → InvalidArgument.
StatusOr<std::string> PeerIp(const std::string& grpc_peer);

}  // namespace capsule::transport
