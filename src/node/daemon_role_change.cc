// Daemon: this node's side of `node promote|demote` (node/role_change.h).
#include <spdlog/spdlog.h>

#include "ca/node_key.h"
#include "ca/node_role.h"
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
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (!state_ || locked_ || !agent_) return;
    state = *state_;
    session = &agent_->session();
    m = manager_;
  }
  const std::string desired = session->DesiredRole();
  const SteadyClock::time_point now = SteadyClock::now();
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

}  // namespace capsule::node
