// The node: capsuled's state machine (not in a swarm → active manager or worker → left) and the
// Backend the Docker API handlers call. Only this folder builds real implementations.
// Thread-safe: requests run concurrently; init and leave are serialised.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>

#include "agent/agent.h"
#include "agent/executor/executor.h"
#include "agent/executor/task_logs.h"
#include "agent/image_fetcher.h"
#include "agent/images/image_store.h"
#include "agent/registry/distribution_inspect.h"
#include "agent/registry/puller.h"
#include "agent/task_sweeper.h"
#include "common/unique_fd.h"
#include "dockerapi/backend.h"
#include "node/cert_renewer.h"
#include "node/manager.h"
#include "node/task_image_users.h"

namespace capsule::node {

struct DaemonOptions {
  std::string data_root = "/var/lib/capsule";
  std::string exec_root = "/run/capsule";
  std::string etcd_binary = "/usr/bin/etcd";
  std::string runc_binary = "/usr/bin/runc";  // tests only (a hidden flag): a wrapper around runc
  std::string hostname;                       // "" = gethostname()
  int etcd_peer_port = 0;                     // 0 = swarm port + 3
  std::string etcd_log_level = "warn";
  // Tests only (capsuled's hidden flags): node certificate validity (0 = the cluster spec's
  // CAConfig.NodeCertExpiry) and how often a node checks its certificate for renewal.
  std::chrono::seconds node_cert_validity{0};
  std::chrono::seconds cert_check_period = kDefaultCertCheckPeriod;
  // Tests only: the etcd member's compaction retention and maintenance check interval.
  etcd::MaintenanceOptions etcd_maintenance;
  // How this node reaches registries for pulls: Docker's certs.d directory (a hidden flag
  // for tests) and the registries spoken to in plain HTTP (--insecure-registry).
  agent::registry::RegistryOptions registries;
  // Tests only (a hidden flag): how long a rotated-out unlock key still unlocks.
  std::chrono::seconds unlock_key_grace = kDefaultUnlockKeyGrace;
  // The secrets audit log's retention on this manager (--audit-max-entries).
  size_t audit_max_entries = audit::kDefaultMaxEntries;
  // Tests only (a hidden flag): a rotation's pause between its new current version and its
  // pins (controlapi::SecretVersionApi).
  std::chrono::milliseconds rotation_pin_delay{0};
};

class Daemon : public dockerapi::Backend {
 public:
  explicit Daemon(DaemonOptions options);
  ~Daemon() override;

  // Creates the roots (data 0700, exec 0711), locks the data root (FailedPrecondition when
  // another capsuled has it) and, if this node is in a swarm, starts its manager (etcd member,
  // store, read model).
  Status Start();
  void Stop();

  dockerapi::LocalSwarmInfo SwarmInfo() const override;
  StatusOr<std::string> InitSwarm(const dockerapi::InitRequest& request) override;
  Status LeaveSwarm(bool force) override;
  Status JoinSwarm(const dockerapi::JoinRequest& request) override;
  // An autolocked manager starts locked (node/autolock_paths.h): no etcd member, store, swarm
  // port or agent, and no key material in memory. Unlock opens the autolock box with the key
  // and then starts the manager and its agent as Start does.
  Status UnlockSwarm(const SecretBytes& key_text) override;
  StatusOr<std::shared_ptr<const dockerapi::ManagerServices>> Manager() const override;
  std::string Hostname() const override { return hostname_; }
  dockerapi::NodeImages* Images() const override { return api_images_.get(); }
  const dockerapi::TaskLogSource* Logs() const override { return api_logs_.get(); }
  std::optional<dockerapi::AgentInfo> Agent() const override;

 private:
  ManagerConfig MakeManagerConfig() const;
  std::string StatePath() const;
  // Builds the image store and the executor once (they live as long as the daemon).
  Status EnsureExecutor();
  // Starts the agent of a manager node (a session with its own swarm port).
  Status StartManagerAgentLocked(const SwarmState& state);
  // After leaving: every task this node still has is stopped and removed (no orphans). Waits
  // at most kTaskSweepBudget: a task whose executor call is stuck is left to its sweep thread.
  void RemoveAllTasks();
  // `swarm init --force-new-cluster` on a node in a swarm (lifecycle_mu_ held;
  // daemon_force_new_cluster.cc).
  StatusOr<std::string> ForceNewClusterLocked(const dockerapi::InitRequest& request);

  // `node promote|demote` on this node (node/role_change.h; daemon_role_change.cc): the role
  // watch thread (from Start until Stop) runs CheckRole every kRoleWatchPeriod.
  void WatchRole();
  void CheckRole();  // takes lifecycle_mu_
  Status Promote(const SwarmState& state, agent::SessionClient& session);
  Status Demote(const SwarmState& state, agent::SessionClient& session,
                std::shared_ptr<node::Manager> m);
  // A worker's certificate through the session's manager (tried for `budget`), handed to the
  // session; then the worker's renewer starts.
  Status RenewToWorker(const SwarmState& state, agent::SessionClient& session,
                       std::chrono::milliseconds budget);
  // A manager that started with its store member removed (member_removed_) asks another
  // manager for a worker's certificate: issued only when its node object is a worker (it was
  // demoted while it was down). Then its manager state goes (etcd dir, KEK, autolock box) and
  // it runs on as a worker (agent, renewer). FailedPrecondition: the store still names it a
  // manager (e.g. `--force-new-cluster` elsewhere), nothing changed. An autolocked one does
  // so once unlocked (removed_identity_), and its worker's key is then written in the clear.
  Status RetireRemovedManager(const SwarmState& state);

  DaemonOptions options_;
  std::string hostname_;
  UniqueFd data_root_lock_;  // held from the first Start on (data_root_lock.h)
  std::mutex lifecycle_mu_;  // serialises Start/Stop/Init/Leave
  mutable std::shared_mutex mu_;
  std::optional<SwarmState> state_;
  bool locked_ = false;  // an autolocked manager waiting for its unlock key (no manager_)
  // A manager whose store member was removed (kMemberRemovedMessage): no manager_, until
  // `swarm leave --force`.
  bool member_removed_ = false;
  // An autolocked manager unlocked with its store member removed: its identity stays covered
  // (its key opened with the KEK, in the tmpfs) until RetireRemovedManager or `swarm leave`.
  // Guarded by lifecycle_mu_.
  std::unique_ptr<IdentityVault> removed_identity_;
  SecretBytes removed_kek_;
  // Requests hold the manager through aliasing shared_ptrs to its services, so leave waits
  // for them before tearing it down.
  std::shared_ptr<node::Manager> manager_;
  // The node's image store (<data-root>/images, on every node in or out of a swarm) and task
  // executor (built at Start; kept across swarm changes). The store refuses to remove an image
  // the executor's tasks use (image_users_, attached to executor_ once built).
  TaskImageUsers image_users_;
  std::unique_ptr<agent::ImageStore> images_;
  // Pulls into images_ (built with it).
  std::unique_ptr<agent::registry::HttpTransport> registry_transport_;
  std::unique_ptr<agent::registry::HttpTransport> registry_guard_;  // with loopback_only
  std::unique_ptr<agent::registry::Puller> puller_;
  std::unique_ptr<agent::registry::DistributionResolver> resolver_;  // GET /distribution
  // images_ + puller_ for the executor: a task's missing image is pulled on this node.
  std::unique_ptr<agent::ImageFetcher> image_fetcher_;
  std::unique_ptr<agent::Executor> executor_;
  // Removes executor_'s tasks on leave (declared after it: destroyed first, waiting for its
  // threads).
  std::unique_ptr<agent::TaskSweeper> sweeper_;
  // This node's agent: its session with a manager (its own swarm port on a manager), its
  // secrets and tasks. Null outside a swarm.
  std::unique_ptr<agent::Agent> agent_;
  // A worker's certificate renewal (hands renewed certificates to agent_; stopped first).
  std::unique_ptr<CertRenewer> renewer_;
  // This node's task logs (<data-root>/tasks), for the logs routes.
  std::unique_ptr<agent::TaskLogs> logs_;
  // images_ and logs_ as the Docker API routes see them (built with them).
  std::unique_ptr<dockerapi::NodeImages> api_images_;
  std::unique_ptr<dockerapi::TaskLogSource> api_logs_;
  // The role watch (see WatchRole).
  std::thread role_watch_;
  std::mutex role_watch_mu_;
  std::condition_variable role_watch_cv_;
  bool role_watch_stop_ = false;
  std::chrono::steady_clock::time_point next_role_try_;        // after a failed role change
  std::chrono::steady_clock::time_point member_silent_since_;  // a demoted member not answering
  bool member_silent_ = false;
  std::chrono::seconds removed_retry_{0};  // RetireRemovedManager's back-off
};

// Waits (bounded, ~10 s) until in-flight requests have released m.
void WaitSoleOwner(const std::shared_ptr<node::Manager>& m);

// Parses Docker's ListenAddr / AdvertiseAddr forms; fills state's addresses and ports.
// InvalidArgument with Docker-like messages on bad input.
Status ResolveAddresses(const dockerapi::InitRequest& request, int etcd_peer_port_override,
                        SwarmState* state);

}  // namespace capsule::node
