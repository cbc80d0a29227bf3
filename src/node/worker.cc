#include "node/worker.h"

#include <spdlog/spdlog.h>

#include "ca/join_token.h"
#include "ca/node_key.h"
#include "common/clock.h"
#include "common/file_read.h"
#include "dockerapi/error_table.h"
#include "node/ca_sync.h"
#include "node/certificates.h"
#include "node/daemon.h"
#include "node/machine_resources.h"
#include "node/manager.h"
#include "transport/join_client.h"

namespace capsule::node {
namespace {

// "IP" → "IP:2377"; "IP:PORT" kept.
std::string WithDefaultPort(const std::string& addr) {
  if (addr.find(':') == std::string::npos) return addr + ":2377";
  return addr;
}

Status AsDockerJoinError(const Status& s, const std::string& manager) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return absl::UnavailableError("could not reach the swarm manager at " + manager + ": " +
                                    std::string(s.message()));
    case absl::StatusCode::kFailedPrecondition:
      return s;  // "remote CA does not match fingerprint. Expected: ..."
    default:
      return dockerapi::RpcError(s);
  }
}

}  // namespace

StatusOr<SwarmState> JoinWithToken(const dockerapi::JoinRequest& request,
                                   const std::string& data_root, const std::string& hostname,
                                   int etcd_peer_port_override) {
  if (request.remote_addrs.empty()) {
    return absl::InvalidArgumentError("at least 1 RemoteAddr is required to join");
  }
  if (!ca::ParseJoinToken(request.join_token).ok()) {
    return dockerapi::RpcError(absl::InvalidArgumentError("invalid join token"));
  }
  if (!request.availability.empty() && request.availability != "active") {
    return absl::InvalidArgumentError("joining with availability " + request.availability +
                                      " is not supported yet");
  }
  SwarmState state;
  dockerapi::InitRequest addrs;
  addrs.listen_addr = request.listen_addr;
  addrs.advertise_addr = request.advertise_addr;
  RETURN_IF_ERROR(ResolveAddresses(addrs, etcd_peer_port_override, &state));
  state.remote_manager = WithDefaultPort(request.remote_addrs.front());

  ASSIGN_OR_RETURN(ca::NodeKeyAndCsr key, ca::GenerateNodeKey());
  // The advertised swarm address with its port: a manager's is its ManagerStatus.Addr.
  StatusOr<transport::IssuedCertificate> issued = transport::JoinSwarm(
      state.remote_manager, request.join_token, key.csr_pem, hostname, ManagerAgentAddr(state));
  if (!issued.ok()) return AsDockerJoinError(issued.status(), state.remote_manager);
  if (issued->role == ca::kWorkerRoleName) {
    state.role = "worker";
  } else if (issued->role == ca::kManagerRoleName) {
    state.role = "manager";
    state.runs_leader_work = false;  // see SwarmState::runs_leader_work
  } else {
    return absl::FailedPreconditionError("the manager issued a certificate for role " +
                                         issued->role);
  }
  state.node_id = issued->node_id;
  state.cluster_id = issued->cluster_id;
  const CertificatePaths paths = CertificatesIn(data_root);
  RETURN_IF_ERROR(EnsureDir(SwarmDir(data_root), 0700));
  RETURN_IF_ERROR(EnsureDir(paths.dir, 0700));
  RETURN_IF_ERROR(ca::WriteNodeKeyFile(paths.key, key.key_pem));
  RETURN_IF_ERROR(ca::WriteCertFile(paths.cert, issued->cert_pem));
  RETURN_IF_ERROR(ca::WriteCertFile(paths.root_ca, issued->root_ca_pem));
  spdlog::info("joined swarm {} as {} node {} through {}", state.cluster_id, state.role,
               state.node_id, state.remote_manager);
  return state;
}

StatusOr<std::unique_ptr<agent::Agent>> StartNodeAgent(const SwarmState& state,
                                                       const std::string& manager_addr,
                                                       const std::string& data_root,
                                                       const std::string& hostname,
                                                       agent::Executor& executor) {
  const CertificatePaths paths = CertificatesIn(data_root);
  agent::SessionConfig config;
  config.node_id = state.node_id;
  config.manager_addr = manager_addr;
  config.hostname = hostname;
  // The managers the last session named, kept on disk: a worker dials the one it was last
  // connected to first (the manager it joined through may be long gone), a manager its own
  // swarm port; the others are there to fail over to.
  const std::string list_path = ManagerListPath(data_root);
  StatusOr<std::vector<agent::RemoteManager>> known =
      agent::LoadManagerList(list_path, state.cluster_id);
  if (!known.ok()) {
    spdlog::warn("ignoring the manager list: {}", known.status().ToString());
  } else {
    if (state.role == "worker" && !known->empty()) {
      config.manager_addr = known->front().addr;
      known->push_back({"", manager_addr});
    }
    config.other_managers = *std::move(known);
  }
  config.on_managers = [list_path,
                        cluster_id = state.cluster_id](const std::vector<agent::RemoteManager>& m) {
    if (Status s = agent::SaveManagerList(list_path, cluster_id, m); !s.ok()) {
      spdlog::warn("could not keep the manager list: {}", s.ToString());
    }
  };
  // Read at every start, so a machine that changed reports its new figures.
  const MachineResources machine = ReadMachineResources();
  config.resources.emplace();
  config.resources->set_nano_cpus(machine.nano_cpus);
  config.resources->set_memory_bytes(machine.memory_bytes);
  ASSIGN_OR_RETURN(config.root_ca_pem, ReadWholeFile(paths.root_ca));
  ASSIGN_OR_RETURN(config.identity.cert_pem, ReadWholeFile(paths.cert));
  ASSIGN_OR_RETURN(config.identity.key_pem, ca::ReadNodeKeyFile(paths.key));
  agent::AgentOptions options;
  options.logs = agent::NewTaskLogs(data_root);  // serves the manager's log subscriptions
  return std::make_unique<agent::Agent>(std::move(config), executor, RealClock(),
                                        std::move(options));
}

std::string ManagerListPath(const std::string& data_root) {
  return SwarmDir(data_root) + "/managers.json";
}

std::string ManagerAgentAddr(const SwarmState& state) {
  const std::string& ip = state.advertise_addr;
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(state.swarm_port);
}

std::unique_ptr<CertRenewer> StartWorkerRenewer(const SwarmState& state,
                                                const std::string& data_root,
                                                agent::SessionClient* session,
                                                std::chrono::milliseconds check_period) {
  const CertificatePaths paths = CertificatesIn(data_root);
  // Through the manager the session is with (the one joined through may be gone).
  auto sign = [session, fallback = state.remote_manager,
               root_path = paths.root_ca](const CertRenewalRequest& req) -> StatusOr<std::string> {
    std::string manager = session->CurrentManager();
    if (manager.empty()) manager = fallback;
    ASSIGN_OR_RETURN(std::string root_ca_pem, ReadWholeFile(root_path));
    transport::ClientIdentity identity{req.current_cert_pem,
                                       SecretBytes::CopyFrom(req.key_pem.view())};
    ASSIGN_OR_RETURN(transport::IssuedCertificate issued,
                     transport::RenewCertificate(manager, root_ca_pem, identity, req.csr_pem,
                                                 std::chrono::seconds(10)));
    // Another root answered means a root rotation finished: the sync (below) takes it.
    return issued.cert_pem;
  };
  auto renewed = [session](const std::string& cert_pem, const SecretBytes& key_pem) {
    session->SetIdentity({cert_pem, SecretBytes::CopyFrom(key_pem.view())});
  };
  auto renewer = std::make_unique<CertRenewer>(paths, sign, renewed, RealClock());
  // A root rotation (ca_sync.h): report, learn the roots, trust the new one once it is the
  // cluster's, renew from the signing root.
  renewer->SetPoll([session, fallback = state.remote_manager, paths]() -> StatusOr<bool> {
    std::string manager = session->CurrentManager();
    if (manager.empty()) manager = fallback;
    const std::string trusted = ReadFileOrEmpty(paths.root_ca);
    ASSIGN_OR_RETURN(SecretBytes key, ca::ReadNodeKeyFile(paths.key));
    transport::ClientIdentity identity{ReadFileOrEmpty(paths.cert), std::move(key)};
    ASSIGN_OR_RETURN(transport::CaRoots roots,
                     transport::SyncTls(manager, trusted, identity, std::chrono::seconds(10)));
    ASSIGN_OR_RETURN(CaSyncResult r,
                     ApplyCaView(paths, {roots.trust_root_pem, roots.signing_root_pem}));
    if (r.trust_changed) session->SetRootCa(roots.trust_root_pem);
    return r.renew;
  });
  renewer->Start(check_period);
  return renewer;
}

}  // namespace capsule::node
