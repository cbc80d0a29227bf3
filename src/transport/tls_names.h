// The TLS server names (SNI) of the swarm port. Nodes are dialled by IP, so the name a client
// asks for says what kind of connection it is (the swarm front routes on it, swarm_front.h):
//   - kManagerTlsName: a node with its certificate; also a DNS SAN of every manager
//     certificate, which such a client verifies, so a worker's certificate, even from the
//     right CA, cannot pose as a manager;
//   - kJoinTlsName: a node without a certificate yet (join, CA fetch). Its client still
//     verifies the manager's certificate by the kManagerTlsName SAN (channels.cc).
#pragma once

namespace capsule::transport {

inline constexpr char kManagerTlsName[] = "swarm-manager";
inline constexpr char kJoinTlsName[] = "swarm-join";

}  // namespace capsule::transport
