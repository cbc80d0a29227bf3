// Daemon::ForceNewClusterLocked: `swarm init --force-new-cluster` on a manager of a swarm,
// typically the survivor of a quorum loss. As Docker does (moby Cluster.Init), the node's
// manager stops and starts again in force-new-cluster mode; here that is etcd's own
// --force-new-cluster on the member's data (Manager::RestartStoreMemberAlone), so the member
// becomes the only one of the store's cluster with every object, the same cluster ID, CA,
// tokens and keys. The other managers' members are removed; their node objects stay (as in
// swarmkit, where only the Raft membership changes) and show Unreachable, then Down.
#include <spdlog/spdlog.h>

#include <chrono>

#include "node/daemon.h"
#include "node/force_new_cluster.h"

namespace capsule::node {

StatusOr<std::string> Daemon::ForceNewClusterLocked(const dockerapi::InitRequest& request) {
  SwarmState state;
  std::shared_ptr<node::Manager> old;
  std::unique_ptr<agent::Agent> session;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    RETURN_IF_ERROR(CheckForceNewCluster(request, {*state_, locked_, manager_ != nullptr}));
    state = *state_;
    old = std::move(manager_);
    session = std::move(agent_);
  }
  const auto began = std::chrono::steady_clock::now();
  const auto ms_since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t)
        .count();
  };
  spdlog::warn(
      "swarm init --force-new-cluster: this manager's store member restarts as the only member "
      "of swarm {}; every other manager is removed from it",
      state.cluster_id);
  // An autolocked manager restarts with the keys it runs with (no unlock key is asked again).
  std::optional<crypto::UnlockedKeys> keys = old->AutolockKeys();
  // The member first: the stopping manager's store calls, waiting for the lost quorum, then
  // complete against the member that has the quorum alone.
  Status forced = old->RestartStoreMemberAlone();
  old->SetCertificateRenewedCallback(nullptr);  // before its agent's session goes
  if (session) session->Stop();                 // tasks keep running; the new agent adopts them
  session.reset();
  WaitSoleOwner(old);
  old->Stop();
  old.reset();
  spdlog::info("swarm init --force-new-cluster: store member {} ({} ms); opening the manager",
               forced.ok() ? "alone" : forced.ToString(), ms_since(began));

  // The only manager now: it also does the one-time liveness reconciliation after a start.
  SwarmState forced_state = state;
  if (forced.ok()) forced_state.runs_leader_work = true;
  StatusOr<std::unique_ptr<node::Manager>> opened =
      node::Manager::Open(MakeManagerConfig(), forced_state, std::move(keys));
  if (!forced.ok() || !opened.ok()) {
    Status error = forced.ok() ? opened.status() : forced;
    spdlog::error("swarm init --force-new-cluster failed: {}", error.ToString());
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (opened.ok()) {  // the member did not restart alone: the manager runs as before
      manager_ = *std::move(opened);
      if (Status a = StartManagerAgentLocked(*state_); !a.ok()) {
        spdlog::error("the manager's own agent did not start: {}", a.ToString());
      }
    }
    return error;
  }
  if (Status saved = SaveSwarmState(StatePath(), forced_state); !saved.ok()) {
    spdlog::error("saving the swarm state after --force-new-cluster: {}", saved.ToString());
  }
  spdlog::info(
      "swarm init --force-new-cluster: swarm {} serves again with this manager alone ({} ms)",
      state.cluster_id, ms_since(began));
  std::unique_lock<std::shared_mutex> lock(mu_);
  state_ = forced_state;
  manager_ = *std::move(opened);
  if (Status a = StartManagerAgentLocked(*state_); !a.ok()) {
    spdlog::error("the manager's own agent did not start: {}", a.ToString());
  }
  return state.node_id;
}

}  // namespace capsule::node
