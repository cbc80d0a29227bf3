// What the Docker API handlers need from the node, as an interface: the node (src/node/)
// implements it; tests can use a fake. Handlers never build real components themselves:
// manager state comes through the control API, the agent's images and logs through the
// interfaces declared here (node_images.h, task_logs.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/log.h"
#include "audit/recorder.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "dockerapi/node_images.h"
#include "dockerapi/task_logs.h"
#include "manager/controlapi/cluster.h"
#include "manager/controlapi/config.h"
#include "manager/controlapi/network.h"
#include "manager/controlapi/node.h"
#include "manager/controlapi/secret.h"
#include "manager/controlapi/secret_versions.h"
#include "manager/controlapi/service.h"
#include "manager/controlapi/task.h"
#include "manager/datakeys/rotation.h"
#include "objects/objects.h"

namespace capsule::dockerapi {

struct InitRequest {
  std::string listen_addr;     // "IP:PORT", "IP", ":PORT" or ""
  std::string advertise_addr;  // "IP", "IP:PORT" or ""
  bool force_new_cluster = false;
  ClusterSpec spec;  // zero-valued fields already replaced by defaults
};

struct JoinRequest {
  std::string listen_addr;                // as InitRequest
  std::string advertise_addr;             // as InitRequest
  std::vector<std::string> remote_addrs;  // managers' "IP:PORT" (or "IP": port 2377)
  std::string join_token;
  std::string availability;  // "" | active | pause | drain
};

// Docker's answer to a manager-only call on a worker.
inline constexpr char kWorkerNotManagerMessage[] =
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster "
    "state. Please run this command on a manager node or promote the current node to a "
    "manager.";

// Docker's text for every manager call on a locked manager (and /info's Swarm.Error).
inline constexpr char kSwarmLockedMessage[] =
    "Swarm is encrypted and needs to be unlocked before it can be used. Please use \"docker "
    "swarm unlock\" to unlock it.";

// Autolock on an active manager (node/manager_autolock.cc): the keys on this manager's disk
// follow the cluster spec's EncryptionConfig.AutoLockManagers.
class AutolockControl {
 public:
  virtual ~AutolockControl() = default;
  // "SWMKEY-1-…", or empty when autolock is off.
  virtual StatusOr<SecretBytes> UnlockKey() const = 0;
  // After a spec update (`autolock` is what it stored): makes the swarm's one unlock key
  // follow the stored spec (on: a key; off: none; with `rotate` and autolock on, a new key,
  // the previous one keeps working for the grace period; rotate with autolock off does
  // nothing, as Docker), then this manager's keys on disk (on: the autolock box under the
  // swarm's key replaces the KEK file; off: the KEK file is written back, the box removed).
  // Every other manager follows the same key by itself.
  virtual Status ApplyAutolock(bool autolock, bool rotate) = 0;
};

// The manager components of an active manager. Held through a shared_ptr for the length of
// one request, so a concurrent leave cannot pull them away mid-request.
struct ManagerServices {
  std::string node_id;
  controlapi::SecretApi* secrets = nullptr;
  controlapi::ConfigApi* configs = nullptr;
  controlapi::NodeApi* nodes = nullptr;
  controlapi::ClusterApi* cluster = nullptr;
  controlapi::ServiceApi* services = nullptr;
  const controlapi::TaskApi* tasks = nullptr;
  // Logs of tasks on other nodes (the log broker); nullptr: only this node's are served.
  const RemoteTaskLogSource* remote_logs = nullptr;
  controlapi::NetworkApi* networks = nullptr;
  AutolockControl* autolock = nullptr;  // nullptr: autolock is not available (fakes)
  // A manager's ManagerStatus.Reachability by node ID (membership/presence.h); empty: every
  // manager is "reachable" (fakes).
  std::function<std::string(const std::string& node_id)> reachability;
  // Capsule's secret versions (/capsule/secrets/…); nullptr: not served (fakes).
  controlapi::SecretVersionApi* secret_versions = nullptr;
  // The secrets audit log: where routes record (secret create/remove) and what
  // GET /capsule/audit reads. nullptr: nothing is recorded, and the route answers 501.
  audit::Recorder* audit = nullptr;
  const audit::Log* audit_log = nullptr;
  // Data-key rotation (POST /capsule/swarm/rotate-data-key, GET /capsule/swarm/data-key);
  // nullptr: not served (fakes).
  datakeys::DataKeyRotation* data_keys = nullptr;
};

// The node's local swarm membership as /info and /_ping report it.
struct LocalSwarmInfo {
  std::string state = "inactive";  // inactive | pending | active | error | locked
  bool control_available = false;  // this node is a manager
  std::string node_id;
  std::string node_addr;        // advertise IP
  std::string manager_addr;     // "IP:PORT" of the manager (this node on a manager)
  std::string manager_node_id;  // that manager's node ID ("" if not known yet)
  // On a worker: every manager it knows, {node ID, "IP:PORT"}, the current one first (the list
  // it keeps in managers.json); empty: only manager_node_id/manager_addr (managers list their
  // own from the store).
  std::vector<std::pair<std::string, std::string>> remote_managers;
  std::string error;  // Swarm.Error (the locked message while locked)
};

// What this node's agent holds, for GET /capsule/agent (IDs only, never secret data).
struct AgentInfo {
  std::string node_id;
  bool connected = false;               // its dispatcher session is open
  std::string manager_addr;             // the manager of that session (or the one it dials)
  std::vector<std::string> secret_ids;  // in its secret cache
  std::vector<std::string> task_ids;    // assigned to it
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
  // Joins an existing swarm as a worker. Unavailable "already part of a swarm" when active;
  // InvalidArgument for bad addresses/token; the manager's refusals with their code.
  virtual Status JoinSwarm(const JoinRequest& request) = 0;
  // Unavailable with Docker's "not a swarm manager" message when not in a swarm, or
  // kWorkerNotManagerMessage on a worker.
  virtual StatusOr<std::shared_ptr<const ManagerServices>> Manager() const = 0;
  // POST /swarm/unlock with the key text. Outside a swarm Unavailable with Docker's "not a
  // swarm manager. Use \"docker swarm init\" …" text; on a worker Unavailable
  // kWorkerNotManagerMessage; an active manager AlreadyExists "swarm is not locked" (409);
  // malformed key InvalidArgument "invalid key string"; wrong key Unauthenticated "swarm
  // could not be unlocked: invalid key provided".
  virtual Status UnlockSwarm(const SecretBytes& key_text) {
    (void)key_text;
    return absl::UnavailableError(
        "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" "
        "to connect this node to swarm and try again.");
  }
  virtual std::string Hostname() const = 0;
  // The node's image store, on every node in or out of a swarm (nullptr: none; the image
  // routes then answer 500).
  virtual NodeImages* Images() const { return nullptr; }
  // This node's task logs (nullptr: none, the logs routes find no task's log).
  virtual const TaskLogSource* Logs() const { return nullptr; }
  // This node's agent (nullopt outside a swarm).
  virtual std::optional<AgentInfo> Agent() const { return std::nullopt; }
};

}  // namespace capsule::dockerapi
