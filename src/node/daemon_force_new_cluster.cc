// Daemon::ForceNewClusterLocked: `swarm init --force-new-cluster` on a manager of a swarm,
// typically the survivor of a quorum loss. As Docker does (moby Cluster.Init), the node's
// manager stops and starts again in force-new-cluster mode; here that is etcd's own
// --force-new-cluster on the member's data (node/manager.h ForceNewCluster), so the member
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
  spdlog::warn(
      "swarm init --force-new-cluster: this manager's store member restarts as the only member "
      "of swarm {}; every other manager is removed from it",
      state.cluster_id);
  // An autolocked manager restarts with the keys it runs with (no unlock key is asked again).
  std::optional<crypto::UnlockedKeys> keys = old->AutolockKeys();
  std::optional<crypto::UnlockedKeys> fallback_keys = old->AutolockKeys();
  // The member first: without a quorum every store call of the stopping manager would wait
  // for its timeout; with the member gone they fail at once.
  old->StopStoreMember();
  old->SetCertificateRenewedCallback(nullptr);  // before its agent's session goes
  if (session) session->Stop();                 // tasks keep running; the new agent adopts them
  session.reset();
  WaitSoleOwner(old);
  old->Stop();
  old.reset();
  spdlog::info("swarm init --force-new-cluster: the manager stopped in {} ms",
               std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - began)
                   .count());

  // The only manager now: it also does the one-time liveness reconciliation after a start.
  SwarmState forced_state = state;
  forced_state.runs_leader_work = true;
  StatusOr<std::unique_ptr<node::Manager>> forced =
      node::Manager::ForceNewCluster(MakeManagerConfig(), forced_state, std::move(keys));
  if (!forced.ok()) {
    spdlog::error("swarm init --force-new-cluster failed: {}; starting the manager as before",
                  forced.status().ToString());
    StatusOr<std::unique_ptr<node::Manager>> again =
        node::Manager::Open(MakeManagerConfig(), state, std::move(fallback_keys));
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (!again.ok()) {
      spdlog::error("the manager did not start again: {}", again.status().ToString());
      return forced.status();
    }
    manager_ = *std::move(again);
    if (Status a = StartManagerAgentLocked(*state_); !a.ok()) {
      spdlog::error("the manager's own agent did not start: {}", a.ToString());
    }
    return forced.status();
  }
  if (Status saved = SaveSwarmState(StatePath(), forced_state); !saved.ok()) {
    spdlog::error("saving the swarm state after --force-new-cluster: {}", saved.ToString());
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
  spdlog::info(
      "swarm init --force-new-cluster: swarm {} serves again with this manager alone ({} ms)",
      state.cluster_id, took.count());
  std::unique_lock<std::shared_mutex> lock(mu_);
  state_ = forced_state;
  manager_ = *std::move(forced);
  if (Status a = StartManagerAgentLocked(*state_); !a.ok()) {
    spdlog::error("the manager's own agent did not start: {}", a.ToString());
  }
  return state.node_id;
}

}  // namespace capsule::node
