// The worker side of a node: joining a swarm (pin the root by the token, get a certificate,
// write the TLS files) and starting the session agent with the certificate on disk (after a
// join, and when capsuled restarts as a worker — no token needed then).
#pragma once

#include <memory>
#include <string>

#include "agent/agent.h"
#include "agent/executor/executor.h"
#include "common/status.h"
#include "dockerapi/backend.h"
#include "node/cert_renewer.h"
#include "node/swarm_state.h"

namespace capsule::node {

// Joins through request.remote_addrs[0] and writes <data-root>/swarm/certificates/*. Returns
// the membership to persist, with the role of the token that matched (the certificate's OU):
// "worker", or "manager" (the caller then makes this node an etcd member: manager_join.h).
// Errors as Docker reports them: the manager's refusals as "rpc error: code = ... desc = ..."
// (wrong token → InvalidArgument "A valid join token is necessary to join this cluster"); a
// root that does not match the token → FailedPrecondition; an unreachable manager →
// Unavailable. `etcd_peer_port_override` as in ResolveAddresses (used by managers only).
StatusOr<SwarmState> JoinWithToken(const dockerapi::JoinRequest& request,
                                   const std::string& data_root, const std::string& hostname,
                                   int etcd_peer_port_override);

// Starts this node's agent (its session with `manager_addr`, using the certificate files on
// disk, and its task worker on `executor`). The managers the dispatcher sends are kept in
// ManagerListPath (0600, atomic); at start a worker dials the first one listed there (the
// manager it was last connected to) before `manager_addr`, and fails over through the rest
// (agent/session_client.h); a manager's own agent dials `manager_addr` first. A worker talks to
// state.remote_manager; a manager to its own swarm port (ManagerAgentAddr), as swarmkit does, so a
// one-node swarm runs tasks. The session carries this machine's resources (ReadMachineResources,
// read here), so every start refreshes the node's Description.Resources, the manager's own node's
// too.
StatusOr<std::unique_ptr<agent::Agent>> StartNodeAgent(const SwarmState& state,
                                                       const std::string& manager_addr,
                                                       const std::string& data_root,
                                                       const std::string& hostname,
                                                       agent::Executor& executor);
// <data-root>/swarm/managers.json: the managers this node knows (agent/manager_list.h).
std::string ManagerListPath(const std::string& data_root);
// The address a manager's own agent dials: its advertised swarm address.
std::string ManagerAgentAddr(const SwarmState& state);

// Starts renewing this worker's certificate through the manager `session` is with (else
// state.remote_manager) (NodeCA.RenewNodeCertificate over mutual TLS with the current certificate),
// checking every `check_period`; each renewed certificate is handed to `session` (which reconnects
// with it). `session` must outlive the renewer.
std::unique_ptr<CertRenewer> StartWorkerRenewer(const SwarmState& state,
                                                const std::string& data_root,
                                                agent::SessionClient* session,
                                                std::chrono::milliseconds check_period);

}  // namespace capsule::node
