// What the NodeCA service needs from the rest of the manager, injected so that the service
// knows nothing about the store. src/node/ wires real implementations; tests use fakes.
#pragma once

#include <optional>
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

// What a renewal issues for an admitted node, from its object: the role it is to have now
// (manager while it is or is to become one: `node promote` before its join, `node demote`
// until its store member is gone) and its advertised IP (a manager's certificate names it:
// its peers dial it).
struct RenewalFacts {
  ca::NodeRole role = ca::NodeRole::kWorker;
  std::string advertise_ip;
};

// A node's Description.TLSInfo: the root it trusts, the issuer of its certificate (base64 DER).
struct NodeTlsInfo {
  std::string trust_root_pem;
  std::string issuer_subject_b64;
  std::string issuer_public_key_b64;
};

// Persists admitted nodes. Register is called before the certificate is returned; an error
// fails the join (the node gets no certificate). Thread-safe.
class NodeRegistry {
 public:
  virtual ~NodeRegistry() = default;
  virtual Status Register(const NewNode& node) = 0;
  // nullopt (the default, for test doubles): a renewal keeps the certificate's role.
  virtual std::optional<RenewalFacts> RenewalOf(const std::string& node_id) const {
    (void)node_id;
    return std::nullopt;
  }
  // Keeps what a node reported (NodeCA.SyncTLS). The default keeps nothing.
  virtual Status RecordTlsInfo(const std::string& node_id, const NodeTlsInfo& info) {
    (void)node_id;
    (void)info;
    return absl::OkStatus();
  }
};

}  // namespace capsule::caserver
