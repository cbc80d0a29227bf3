// Network operations of the control API: swarm-scoped overlay networks as Docker objects
// (create, list with filters, inspect, delete) and the resolution of a service's network
// attachments. Addresses: a network's subnet is fixed at create (the user's IPAM configs or a
// block of the swarm's default address pool); service VIPs and task addresses inside it are
// allocated by the leader's orchestrator (manager/orchestrator/network_allocation.h).
// Connectivity is not part of this: a task keeps its own network namespace with only `lo`.
//
// Unlike the other *Api classes, the messages returned here are final, as the engine prints
// them: the daemon's own checks without a prefix, swarmkit's with "rpc error: code = <Code>
// desc = " (the engine reports both layers for networks). Thread-safe; creates on this manager
// are serialised (subnet and VXLAN choices read the model first).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "manager/controlapi/network_spec.h"
#include "objects/network.h"
#include "objects/service.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::controlapi {

// GET /networks filters: `name`, `id`, `label`, `driver`, `scope`, `type`, `dangling`.
struct NetworkFilters {
  std::vector<std::string> names{};  // swarm networks: exact name; predefined: substring
  std::vector<std::string> id_prefixes{};
  std::vector<std::string> labels{};
  std::vector<std::string> drivers{};
  std::vector<std::string> scopes{};
  std::vector<std::string> types{};     // "custom" | "builtin"
  std::vector<std::string> dangling{};  // "true"/"1": custom networks no service uses
};

// What a lookup or list finds: a stored swarm network or one of this node's predefined ones.
struct NetworkView {
  Network network;
  std::string json;  // Docker's NetworkResource
  bool predefined = false;
};

class NetworkApi {
 public:
  // node_id seeds the IDs of the predefined local networks (host, none).
  NetworkApi(store::Store& store, const store::ReadModel& reads, const Clock& clock,
             const std::string& node_id);

  // → the new ID. Daemon checks: Unknown "invalid name: <n>" (empty); AlreadyExists
  // "network with name <n> already exists" (same name, predefined included); a driver other
  // than overlay: NotFound "plugin \"<d>\" not found" or, for Docker's local drivers,
  // InvalidArgument "network driver <d> is not supported: Capsule creates swarm-scoped overlay
  // networks only"; PermissionDenied "cannot downgrade network scope for overlay networks";
  // Unknown "Invalid subnet ..." (ipam/pool.h). Swarm checks (prefixed): the name rules of
  // services; "error during lookup of plugin <d>" (IPAM driver); the IPAM config messages;
  // AlreadyExists "ingress network (<id>) is already present"; InvalidArgument "ipam
  // configuration: subnet <s> overlaps with subnet <t> of network <n>" (Capsule refuses what
  // Docker accepts and leaves unallocated); ResourceExhausted when the default pools are full;
  // Unknown "name conflicts with an existing object" (same name, other case).
  StatusOr<std::string> Create(const NetworkCreateRequest& request);

  // `ref` as Resolve. PermissionDenied "<name> is a pre-defined network and cannot be
  // removed"; FailedPrecondition (prefixed) "network <id> is in use by service <service id>"
  // (service specs are checked, not tasks: stopping tasks keep their attachment).
  Status Remove(const std::string& ref);

  // Stored networks in ID order, then host and none. Unknown "invalid filter: 'type'='<v>'".
  StatusOr<std::vector<NetworkView>> List(const NetworkFilters& filters) const;

  // The engine's lookup: full ID, exact name, unique ID prefix. NotFound "network <ref> not
  // found"; InvalidArgument "<N> matches found based on name|ID prefix: network <ref> is
  // ambiguous".
  StatusOr<NetworkView> Resolve(const std::string& ref) const;

  // The service's TaskTemplate.Networks and Networks: each Target (name, ID or ID prefix)
  // replaced by the network's ID. Unknown "network <t> not found"; InvalidArgument "network
  // <t> is ambiguous (N matches found)"; PermissionDenied "The network <t> cannot be used with
  // services. Only networks scoped to the swarm can be used, such as those created with the
  // overlay driver." (host and none too: Capsule runs no task in the host's namespace);
  // InvalidArgument (prefixed) "Service cannot be explicitly attached to the ingress network
  // \"<name>\"".
  Status ResolveAttachments(ServiceSpec* spec) const;

 private:
  std::vector<NetworkView> Predefined() const;
  StatusOr<Network> Allocate(const NetworkCreateRequest& request) const;

  store::Store& store_;
  const store::ReadModel& reads_;
  const Clock& clock_;
  std::vector<Network> predefined_;
  std::mutex create_mu_;
};

// The ingress network swarm init creates (10.0.0.0/24 from Docker's default pool): written
// straight to the store. → its ID.
StatusOr<std::string> CreateIngressNetwork(store::Store& store, const ClusterSpec& spec,
                                           TimePoint now);

// IDs of the services whose current spec attaches network `network_id`, in ID order.
std::vector<std::string> ServicesUsingNetwork(const store::ReadModel& reads,
                                              const std::string& network_id);

}  // namespace capsule::controlapi
