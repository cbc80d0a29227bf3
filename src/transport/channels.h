// Client channels to a manager's swarm port. Nodes are dialled by IP, so every channel sets
// the TLS target-name override (tls_names.h): "swarm-manager" for a node with its
// certificate, "swarm-join" for one without (the swarm front routes on it). Both verify the
// manager's certificate by its "swarm-manager" DNS SAN: a worker's certificate, even from the
// right CA, cannot pose as a manager.
//
// Each channel has its own connection (no subchannel sharing), so a new channel always makes
// a fresh TLS handshake — e.g. after this node's or the manager's certificate changed.
#pragma once

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "common/secret_bytes.h"
#include "transport/tls_names.h"

namespace capsule::transport {

// A node's TLS client identity.
struct ClientIdentity {
  std::string cert_pem;
  SecretBytes key_pem;
};

// A channel that verifies the server against `root_ca_pem` (the pinned swarm root) and, when
// `identity` is given, presents that certificate. Without identity it asks for the join name
// and can only use the unauthenticated NodeCA calls (join).
std::shared_ptr<grpc::Channel> NodeChannel(const std::string& addr, const std::string& root_ca_pem,
                                           const ClientIdentity* identity);

// A TLS channel that does NOT verify the server: only for fetching the root CA at join,
// whose digest the caller must then check against the join token (see join_client.h).
// Never send a token or anything secret over it.
std::shared_ptr<grpc::Channel> BootstrapChannel(const std::string& addr);

}  // namespace capsule::transport
