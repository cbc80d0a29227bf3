// Daemon: this node's side of `node promote|demote` (node/role_change.h).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "agent/manager_list.h"
#include "ca/node_key.h"
#include "ca/node_role.h"
#include "node/autolock_paths.h"
#include "node/certificates.h"
#include "node/daemon.h"
#include "node/manager_join.h"
#include "node/role_change.h"
#include "node/worker.h"

namespace capsule::node {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The manager to renew through: the session's, else the first other manager known.
std::string RenewalManager(const SwarmState& state, agent::SessionClient& session) {
  std::string via = session.CurrentManager();
  if (!via.empty() && via != ManagerAgentAddr(state)) return via;
  for (const agent::RemoteManager& m : session.Managers()) {
    if (m.node_id != state.node_id && m.addr != ManagerAgentAddr(state)) return m.addr;
  }
  return state.remote_manager;
}

// The other managers a node whose own manager cannot start may ask: those of its manager list
// on disk (the last session's), then the manager it joined through; never itself.
std::vector<std::string> OtherManagers(const SwarmState& state, const std::string& data_root) {
  std::vector<std::string> addrs;
  const std::string self = ManagerAgentAddr(state);
  auto add = [&](const std::string& addr) {
    if (addr.empty() || addr == self) return;
    if (std::find(addrs.begin(), addrs.end(), addr) == addrs.end()) addrs.push_back(addr);
  };
  StatusOr<std::vector<agent::RemoteManager>> known =
      agent::LoadManagerList(ManagerListPath(data_root), state.cluster_id);
  if (known.ok()) {
    for (const agent::RemoteManager& m : *known) {
      if (m.node_id != state.node_id) add(m.addr);
    }
  }
  add(state.remote_manager);
  return addrs;
}

// The manager list on disk without this node itself (a worker dials the first one listed).
void DropSelfFromManagerList(const SwarmState& state, const std::string& data_root) {
  const std::string path = ManagerListPath(data_root);
  StatusOr<std::vector<agent::RemoteManager>> known =
      agent::LoadManagerList(path, state.cluster_id);
  if (!known.ok() || known->empty()) return;
  const std::string self = ManagerAgentAddr(state);
  std::erase_if(*known, [&](const agent::RemoteManager& m) {
    return m.node_id == state.node_id || m.addr == self;
  });
  if (Status s = agent::SaveManagerList(path, state.cluster_id, *known); !s.ok()) {
    spdlog::warn("could not rewrite the manager list: {}", s.ToString());
  }
}

// What Manager::Retire removes, for a manager that never started: its etcd member's data,
// the KEK and the autolock box (the certificates stay).
void RemoveManagerState(const std::string& data_root) {
  std::error_code ec;
  std::filesystem::remove_all(EtcdDir(data_root), ec);
  if (ec) spdlog::error("removing {}: {}", EtcdDir(data_root), ec.message());
  std::filesystem::remove(KekFilePath(data_root), ec);
  std::filesystem::remove(AutolockBoxPath(data_root), ec);
}

transport::ClientIdentity IdentityOnDisk(const std::string& data_root, const std::string& cert) {
  StatusOr<SecretBytes> key = ca::ReadNodeKeyFile(CertificatesIn(data_root).key);
  return {cert, key.ok() ? *std::move(key) : SecretBytes()};
}

}  // namespace

void Daemon::WatchRole() {
  std::unique_lock<std::mutex> lock(role_watch_mu_);
  while (!role_watch_cv_.wait_for(lock, kRoleWatchPeriod, [this] { return role_watch_stop_; })) {
    lock.unlock();
    CheckRole();
    lock.lock();
  }
}

void Daemon::CheckRole() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  SwarmState state;
  agent::SessionClient* session = nullptr;
  std::shared_ptr<node::Manager> m;
  bool member_removed = false;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (!state_ || locked_) return;
    member_removed = member_removed_;
    if (!member_removed && !agent_) return;
    state = *state_;
    if (agent_) session = &agent_->session();
    m = manager_;
  }
  const SteadyClock::time_point now = SteadyClock::now();
  if (member_removed) {
    // Demoted while it was down? Asked at once, then after 5 s, 10 s, ... at most every 60 s.
    if (now < next_role_try_) return;
    if (Status s = RetireRemovedManager(state); !s.ok()) {
      removed_retry_ = std::min<std::chrono::seconds>(
          std::max<std::chrono::seconds>(removed_retry_ * 2, kRoleRetryAfter),
          std::chrono::seconds(60));
      spdlog::warn(
          "this manager's store member was removed and it is not a worker: {}; asking "
          "again in {} s",
          s.ToString(), removed_retry_.count());
      next_role_try_ = SteadyClock::now() + removed_retry_;
    }
    return;
  }
  const std::string desired = session->DesiredRole();
  if (state.role == "worker") {
    if (now < next_role_try_) return;
    Status s;
    if (desired == "manager") {
      s = Promote(state, *session);
    } else if (desired == "worker" &&
               CertificateRoleName(options_.data_root) == ca::kManagerRoleName) {
      s = RenewToWorker(state, *session, std::chrono::seconds(0));
    }
    if (!s.ok()) {
      spdlog::warn("role change of this node: {}; trying again in {} s", s.ToString(),
                   kRoleRetryAfter.count());
      next_role_try_ = SteadyClock::now() + kRoleRetryAfter;
    }
    return;
  }
  if (desired != "worker" || !m) {
    member_silent_ = false;
    return;
  }
  // Demoted: wait until the leader removed this node's member (its vote counts until then).
  StatusOr<bool> removed = m->MemberRemoved();
  if (removed.ok() && !*removed) {
    member_silent_ = false;
    return;
  }
  if (!removed.ok()) {
    if (!member_silent_) {
      member_silent_ = true;
      member_silent_since_ = now;
    }
    if (now - member_silent_since_ < kRemovedAfter) return;
  }
  member_silent_ = false;
  if (Status s = Demote(state, *session, std::move(m)); !s.ok()) {
    spdlog::error("demotion of this node: {}", s.ToString());
  }
}

Status Daemon::Promote(const SwarmState& state, agent::SessionClient& session) {
  spdlog::info("this node is promoted: becoming a manager");
  const std::string via = RenewalManager(state, session);
  ASSIGN_OR_RETURN(std::string cert, RenewToRole(options_.data_root, via, ca::kManagerRoleName));
  // A worker's renewer keeps a certificate's role: it stops while this node changes it.
  std::unique_ptr<CertRenewer> renewer;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    renewer = std::move(renewer_);
  }
  if (renewer) renewer->Stop();
  SwarmState promoted = state;
  promoted.role = "manager";
  promoted.runs_leader_work = false;  // as a manager that joined
  promoted.remote_manager = via;
  StatusOr<std::unique_ptr<node::Manager>> joined =
      JoinAsManager(MakeManagerConfig(), promoted, /*promotion=*/true);
  Status s = joined.status();
  if (s.ok()) s = SaveSwarmState(StatePath(), promoted);
  if (!s.ok()) {
    if (joined.ok()) (*joined)->Retire();  // its member stays, as after `leave --force`
    std::unique_lock<std::shared_mutex> lock(mu_);
    renewer_ = StartWorkerRenewer(state, options_.data_root, &session, options_.cert_check_period);
    return s;
  }
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    state_ = promoted;
    manager_ = *std::move(joined);
    // The agent stays (its tasks run on); the manager renews the certificate from now on.
    agent::SessionClient* sc = &session;
    manager_->SetCertificateRenewedCallback(
        [sc](const std::string& cert_pem, const SecretBytes& key_pem) {
          sc->SetIdentity({cert_pem, SecretBytes::CopyFrom(key_pem.view())});
        });
  }
  session.SetIdentity(IdentityOnDisk(options_.data_root, cert));
  spdlog::info("this node is a manager now");
  return absl::OkStatus();
}

Status Daemon::Demote(const SwarmState& state, agent::SessionClient& session,
                      std::shared_ptr<node::Manager> m) {
  spdlog::info("this node is demoted and its store member is gone: becoming a worker");
  SwarmState demoted = state;
  demoted.role = "worker";
  demoted.remote_manager = RenewalManager(state, session);
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    manager_.reset();
    state_ = demoted;  // the API answers as a worker's from now on
  }
  m->SetCertificateRenewedCallback(nullptr);
  WaitSoleOwner(m);
  m->Retire();  // etcd dir, KEK and autolock box go; the certificates stay
  m.reset();
  RETURN_IF_ERROR(SaveSwarmState(StatePath(), demoted));
  // The agent's session was with this node's own swarm port: it fails over to another manager.
  return RenewToWorker(demoted, session, std::chrono::seconds(20));
}

Status Daemon::RenewToWorker(const SwarmState& state, agent::SessionClient& session,
                             std::chrono::milliseconds budget) {
  const SteadyClock::time_point deadline = SteadyClock::now() + budget;
  StatusOr<std::string> cert;
  while (true) {
    cert = RenewToRole(options_.data_root, RenewalManager(state, session), ca::kWorkerRoleName);
    if (cert.ok() || SteadyClock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  RETURN_IF_ERROR(cert.status());
  session.SetIdentity(IdentityOnDisk(options_.data_root, *cert));
  std::unique_lock<std::shared_mutex> lock(mu_);
  if (!renewer_) {
    renewer_ = StartWorkerRenewer(state, options_.data_root, &session, options_.cert_check_period);
  }
  spdlog::info("this node is a worker now");
  return absl::OkStatus();
}

Status Daemon::RetireRemovedManager(const SwarmState& state) {
  // The certificate first: the CA issues a worker's only when the node object says worker,
  // which is the proof that this node was demoted (and not, say, cut off by a
  // `--force-new-cluster` elsewhere).
  const std::vector<std::string> managers = OtherManagers(state, options_.data_root);
  Status last = absl::UnavailableError("no other manager is known");
  std::string via;
  for (const std::string& addr : managers) {
    StatusOr<std::string> cert = RenewToRole(options_.data_root, addr, ca::kWorkerRoleName);
    if (cert.ok()) {
      via = addr;
      break;
    }
    last = cert.status();
    if (absl::IsFailedPrecondition(last)) return last;  // a manager answered: not demoted
  }
  if (via.empty()) return last;
  if (removed_identity_) {
    // Unlocked after the demotion: the worker's identity underneath, its key in the clear as
    // every worker's (workers are not autolocked).
    RETURN_IF_ERROR(removed_identity_->SyncUnderneath(removed_kek_, /*sealed=*/false));
    removed_identity_.reset();
    removed_kek_ = SecretBytes();
  }
  spdlog::info("this manager was demoted while it was down: becoming a worker (through {})", via);
  SwarmState demoted = state;
  demoted.role = "worker";
  demoted.runs_leader_work = false;
  demoted.remote_manager = via;
  // The state first: a crash after it starts a worker (with stale files at worst), never a
  // manager without its store.
  RETURN_IF_ERROR(SaveSwarmState(StatePath(), demoted));
  RemoveManagerState(options_.data_root);
  DropSelfFromManagerList(demoted, options_.data_root);
  StatusOr<std::unique_ptr<agent::Agent>> a =
      StartNodeAgent(demoted, via, options_.data_root, hostname_, *executor_);
  std::unique_lock<std::shared_mutex> lock(mu_);
  state_ = demoted;
  member_removed_ = false;
  removed_retry_ = std::chrono::seconds(0);
  if (!a.ok()) {
    // As a worker whose agent did not start at Start: the next capsuled start retries it.
    spdlog::error("the worker's agent did not start: {}", a.status().ToString());
    return absl::OkStatus();
  }
  agent_ = *std::move(a);
  renewer_ = StartWorkerRenewer(demoted, options_.data_root, &agent_->session(),
                                options_.cert_check_period);
  spdlog::info("this node is a worker now");
  return absl::OkStatus();
}

}  // namespace capsule::node
