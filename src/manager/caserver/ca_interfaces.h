// What the NodeCA service needs from the rest of the manager, injected so that the service
// knows nothing about the store. src/node/ wires real implementations; tests use fakes.
#pragma once

#include <string>

#include "ca/node_role.h"
#include "common/status.h"

namespace capsule::caserver {

struct JoinTokens {
  std::string worker;   // SWMTKN-1-...
  std::string manager;  // SWMTKN-1-...
};

// The current join tokens (rotation replaces them; the old ones stop working at once).
// Thread-safe.
class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual JoinTokens CurrentTokens() const = 0;
};

// A node the CA just admitted.
struct NewNode {
  std::string node_id;
  ca::NodeRole role = ca::NodeRole::kWorker;
  std::string hostname;        // as the node reported it (informative)
  std::string advertise_addr;  // as the node reported it (informative)
  std::string observed_ip;     // the address the join call came from (in the cert's IP SAN)
};

// Persists admitted nodes. Register is called before the certificate is returned; an error
// fails the join (the node gets no certificate). Thread-safe.
class NodeRegistry {
 public:
  virtual ~NodeRegistry() = default;
  virtual Status Register(const NewNode& node) = 0;
};

}  // namespace capsule::caserver
