// What the Docker API handlers need from the node, as an interface: the node (src/node/)
// implements it; tests can use a fake. Handlers never build real components themselves.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "manager/controlapi/secret.h"
#include "objects/objects.h"
#include "store/read_model.h"

namespace capsule::dockerapi {

struct InitRequest {
  std::string listen_addr;     // "IP:PORT", "IP", ":PORT" or ""
  std::string advertise_addr;  // "IP", "IP:PORT" or ""
  bool force_new_cluster = false;
  ClusterSpec spec;            // zero-valued fields already replaced by defaults
};

// The manager components of an active manager. Held through a shared_ptr for the length of
// one request, so a concurrent leave cannot pull them away mid-request.
struct ManagerServices {
  std::string node_id;
  const store::ReadModel* reads = nullptr;
  controlapi::SecretApi* secrets = nullptr;
};

// The node's local swarm membership as /info and /_ping report it.
struct LocalSwarmInfo {
  std::string state = "inactive";  // inactive | pending | active | error | locked
  bool control_available = false;  // this node is a manager
  std::string node_id;
  std::string node_addr;           // advertise IP
  std::string manager_addr;        // "IP:PORT" of the manager (this node, for now)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual LocalSwarmInfo SwarmInfo() const = 0;
  // → node ID. Unavailable "This node is already part of a swarm. ..." when active.
  virtual StatusOr<std::string> InitSwarm(const InitRequest& request) = 0;
  // Unavailable "This node is not part of a swarm" when inactive; FailedPrecondition when
  // this is the last manager and !force.
  virtual Status LeaveSwarm(bool force) = 0;
  // Unavailable with Docker's "not a swarm manager" message when not an active manager.
  virtual StatusOr<std::shared_ptr<const ManagerServices>> Manager() const = 0;
  virtual std::string Hostname() const = 0;
};

}  // namespace capsule::dockerapi
