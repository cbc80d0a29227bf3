#include "node/daemon.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "agent/pulling_executor.h"
#include "agent/registry/image_fetcher.h"
#include "agent/registry/loopback_guard.h"
#include "ca/unlock_key.h"
#include "common/file_read.h"
#include "common/ids.h"
#include "crypto/autolock_box.h"
#include "dockerapi/error_table.h"
#include "node/api_adapters.h"
#include "node/autolock_paths.h"
#include "node/ca_sync.h"
#include "node/certificates.h"
#include "node/data_root_lock.h"
#include "node/identity_vault.h"
#include "node/manager_join.h"
#include "node/worker.h"

namespace capsule::node {
namespace {

// How long a leave waits for the node's tasks to be removed: a task's stop grace period
// (10 s by default) and its removal, with room to spare. A task still being removed after
// that is left to its sweep thread (agent/task_sweeper.h).
constexpr std::chrono::seconds kTaskSweepBudget{20};

}  // namespace

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {
  hostname_ = options_.hostname;
  if (hostname_.empty()) {
    char buf[256] = {};
    gethostname(buf, sizeof(buf) - 1);
    hostname_ = buf;
  }
}

Daemon::~Daemon() { Stop(); }

std::string Daemon::StatePath() const { return SwarmDir(options_.data_root) + "/state.json"; }

ManagerConfig Daemon::MakeManagerConfig() const {
  ManagerConfig c;
  c.data_root = options_.data_root;
  c.etcd_binary = options_.etcd_binary;
  c.hostname = hostname_;
  c.etcd_log_level = options_.etcd_log_level;
  c.node_cert_validity = options_.node_cert_validity;
  c.cert_check_period = options_.cert_check_period;
  c.etcd_maintenance = options_.etcd_maintenance;
  c.unlock_key_grace = options_.unlock_key_grace;
  c.audit_max_entries = options_.audit_max_entries;
  c.rotation_pin_delay = options_.rotation_pin_delay;
  return c;
}

namespace {

// The capsule-shim executable installed next to capsuled.
std::string ShimPath() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "capsule-shim";
  return (self.parent_path() / "capsule-shim").string();
}

}  // namespace

Status Daemon::EnsureExecutor() {
  if (executor_) return absl::OkStatus();
  // The image store serves every node, in a swarm or not.
  if (!images_) {
    ASSIGN_OR_RETURN(
        images_, agent::NewImageStore(options_.data_root + "/images", RealClock(), &image_users_));
    registry_transport_ = agent::registry::NewHttpTransport(options_.registries.certs_dir);
    agent::registry::HttpTransport* transport = registry_transport_.get();
    if (options_.registries.loopback_only) {
      registry_guard_ = agent::registry::NewLoopbackOnlyTransport(*registry_transport_);
      transport = registry_guard_.get();
    }
    puller_ = std::make_unique<agent::registry::Puller>(*images_, *transport, options_.registries);
    resolver_ = std::make_unique<agent::registry::DistributionResolver>(*images_, *transport,
                                                                        options_.registries);
    api_images_ = NewApiImages(*images_, puller_.get(), resolver_.get());
    image_fetcher_ = agent::registry::NewRegistryImageFetcher(*images_, *puller_);
  }
  if (!logs_) {
    logs_ = agent::NewTaskLogs(options_.data_root);
    api_logs_ = NewApiTaskLogs(*logs_);
  }
  agent::ExecutorConfig config;
  config.exec_root = options_.exec_root;
  config.data_root = options_.data_root;
  config.shim_binary = ShimPath();
  config.runc_binary = options_.runc_binary;
  executor_ = agent::NewPullingExecutor(agent::NewRuncExecutor(config, *images_), *image_fetcher_);
  image_users_.Attach(*executor_);
  sweeper_ = std::make_unique<agent::TaskSweeper>(*executor_, RealClock());
  return absl::OkStatus();
}

Status Daemon::StartManagerAgentLocked(const SwarmState& state) {
  ASSIGN_OR_RETURN(agent_, StartNodeAgent(state, ManagerAgentAddr(state), options_.data_root,
                                          hostname_, *executor_));
  // The manager renews its own certificate; its agent's session reconnects with the new one
  // (cleared before the agent stops: Stop, LeaveSwarm).
  agent::SessionClient* session = &agent_->session();
  manager_->SetCertificateRenewedCallback(
      [session, root = CertificatesIn(options_.data_root).root_ca](const std::string& cert_pem,
                                                                   const SecretBytes& key_pem) {
        session->SetRootCa(ReadFileOrEmpty(root));  // a finished root rotation (ca_sync.h)
        session->SetIdentity({cert_pem, SecretBytes::CopyFrom(key_pem.view())});
      });
  return absl::OkStatus();
}

Status Daemon::Start() {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  RETURN_IF_ERROR(EnsureDir(options_.data_root, 0700));
  // Before anything else touches the data root (etcd, tasks): one daemon per data root.
  if (!data_root_lock_.valid()) {
    ASSIGN_OR_RETURN(data_root_lock_, LockDataRoot(options_.data_root));
  }
  if (!role_watch_.joinable()) role_watch_ = std::thread([this] { WatchRole(); });
  RETURN_IF_ERROR(EnsureDir(options_.exec_root, 0711));
  // An autolocked manager killed with -9 leaves its key's tmpfs mounted (identity_vault.h).
  RETURN_IF_ERROR(IdentityVault::ClearStale(CertificatesIn(options_.data_root)));
  RETURN_IF_ERROR(EnsureExecutor());
  ASSIGN_OR_RETURN(std::optional<SwarmState> state, LoadSwarmState(StatePath()));
  if (!state) {
    spdlog::info("not in a swarm; waiting for swarm init");
    RemoveAllTasks();  // a previous run may have left the swarm abruptly
    return absl::OkStatus();
  }
  spdlog::info("rejoining swarm {} as {} node {}", state->cluster_id, state->role, state->node_id);
  if (state->role == "worker") {
    ASSIGN_OR_RETURN(
        std::unique_ptr<agent::Agent> a,
        StartNodeAgent(*state, state->remote_manager, options_.data_root, hostname_, *executor_));
    std::unique_ptr<CertRenewer> renewer =
        StartWorkerRenewer(*state, options_.data_root, &a->session(), options_.cert_check_period);
    std::unique_lock<std::shared_mutex> lock(mu_);
    state_ = std::move(state);
    agent_ = std::move(a);
    renewer_ = std::move(renewer);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(bool locked, StartsLocked(options_.data_root));
  if (locked) {
    spdlog::warn("this manager is autolocked: it waits for `swarm unlock`");
    std::unique_lock<std::shared_mutex> lock(mu_);
    state_ = std::move(state);
    locked_ = true;
    return absl::OkStatus();
  }
  StatusOr<std::unique_ptr<node::Manager>> opened =
      node::Manager::Open(MakeManagerConfig(), *state);
  if (!opened.ok() && IsMemberRemoved(opened.status())) {
    // Up without a manager, so that `swarm leave --force` can clear the stale state.
    spdlog::error("{}", std::string(opened.status().message()));
    std::unique_lock<std::shared_mutex> lock(mu_);
    state_ = std::move(state);
    member_removed_ = true;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(opened.status());
  std::unique_ptr<node::Manager> m = *std::move(opened);
  std::unique_lock<std::shared_mutex> lock(mu_);
  state_ = std::move(state);
  manager_ = std::move(m);
  if (Status a = StartManagerAgentLocked(*state_); !a.ok()) {
    spdlog::error("the manager's own agent did not start: {}", a.ToString());
  }
  return absl::OkStatus();
}

void Daemon::RemoveAllTasks() {
  if (sweeper_) sweeper_->RemoveAll(kTaskSweepBudget);
}

std::optional<dockerapi::AgentInfo> Daemon::Agent() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (!agent_) return std::nullopt;
  dockerapi::AgentInfo info;
  info.node_id = agent_->node_id();
  info.connected = agent_->session().connected();
  info.manager_addr = agent_->session().CurrentManager();
  info.secret_ids = agent_->SecretIds();
  info.task_ids = agent_->TaskIds();
  return info;
}

namespace {

// moby's managerStats, from this manager's node list and its view of reachability; nullopt
// when the list cannot be read.
std::optional<membership::ManagerStats> ManagerStatsOf(const node::Manager& m) {
  const dockerapi::ManagerServices& s = m.services();
  if (s.nodes == nullptr) return std::nullopt;
  StatusOr<std::vector<store::NodeEntry>> nodes = s.nodes->List({});
  if (!nodes.ok()) return std::nullopt;
  membership::ManagerStats stats;
  for (const store::NodeEntry& n : *nodes) {
    if (n->object.role != "manager") continue;
    const std::string r = s.reachability ? s.reachability(n->object.id) : "reachable";
    if (r == "reachable") {
      ++stats.reachable;
      stats.self_reachable = stats.self_reachable || n->object.id == s.node_id;
    } else if (r == "unreachable") {
      ++stats.unreachable;
    }
  }
  return stats;
}

}  // namespace

void WaitSoleOwner(const std::shared_ptr<node::Manager>& m) {
  for (int i = 0; i < 1000 && m.use_count() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Daemon::Stop() {
  {
    std::lock_guard<std::mutex> lock(role_watch_mu_);
    role_watch_stop_ = true;
  }
  role_watch_cv_.notify_all();
  if (role_watch_.joinable()) role_watch_.join();
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  std::shared_ptr<node::Manager> m;
  std::unique_ptr<agent::Agent> session;
  std::unique_ptr<CertRenewer> renewer;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    m = std::move(manager_);
    session = std::move(agent_);
    renewer = std::move(renewer_);
  }
  if (renewer) renewer->Stop();                      // before the session it hands certificates to
  if (m) m->SetCertificateRenewedCallback(nullptr);  // likewise, on a manager
  if (session) session->Stop();  // tasks keep running; the next start re-adopts them
  if (m) {
    WaitSoleOwner(m);
    m->Stop();
  }
}

dockerapi::LocalSwarmInfo Daemon::SwarmInfo() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  dockerapi::LocalSwarmInfo info;
  if (!state_) return info;
  if (locked_) {
    info.state = "locked";
    info.error = dockerapi::kSwarmLockedMessage;
    info.node_addr = state_->advertise_addr;  // NodeID stays "" (as Docker 20.10 shows it)
    return info;
  }
  info.state = "active";
  info.control_available = state_->role == "manager";
  info.node_id = state_->node_id;
  info.node_addr = state_->advertise_addr;
  if (state_->role == "worker" && agent_) {
    std::vector<agent::RemoteManager> managers = agent_->session().Managers();
    if (!managers.empty()) {
      info.manager_node_id = managers.front().node_id;
      info.manager_addr = managers.front().addr;
      for (const agent::RemoteManager& m : managers) {
        info.remote_managers.emplace_back(m.node_id, m.addr);
      }
    }
    return info;
  }
  info.manager_node_id = state_->node_id;
  info.manager_addr = state_->advertise_addr + ":" + std::to_string(state_->swarm_port);
  if (member_removed_) info.error = kMemberRemovedMessage;
  // Without quorum Docker keeps ControlAvailable and reports the inspect error.
  if (std::shared_ptr<node::Manager> m = manager_) {
    lock.unlock();  // the check may wait for etcd
    if (Status q = m->Quorum(); !q.ok()) info.error = std::string(q.message());
  }
  return info;
}

StatusOr<std::string> Daemon::InitSwarm(const dockerapi::InitRequest& request) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (state_ && !request.force_new_cluster) {
      return absl::UnavailableError(
          "This node is already part of a swarm. Use \"docker swarm leave\" to leave this "
          "swarm and join another one.");
    }
    if (state_) {
      lock.unlock();
      return ForceNewClusterLocked(request);
    }
  }
  RETURN_IF_ERROR(EnsureExecutor());
  SwarmState state;
  RETURN_IF_ERROR(ResolveAddresses(request, options_.etcd_peer_port, &state));
  state.node_id = NewId();
  state.cluster_id = NewId();
  state.role = "manager";
  // A previous swarm's leftovers (e.g. a crash during leave) must not leak into this one.
  std::error_code ec;
  std::filesystem::remove_all(EtcdDir(options_.data_root), ec);
  ASSIGN_OR_RETURN(std::unique_ptr<node::Manager> m,
                   node::Manager::Bootstrap(MakeManagerConfig(), state, request.spec));
  Status saved = SaveSwarmState(StatePath(), state);
  if (!saved.ok()) {
    m->Destroy();
    return saved;
  }
  spdlog::info("swarm initialised: cluster {} node {} advertise {}", state.cluster_id,
               state.node_id, state.advertise_addr);
  std::unique_lock<std::shared_mutex> lock(mu_);
  state_ = state;
  manager_ = std::move(m);
  if (Status a = StartManagerAgentLocked(state); !a.ok()) {
    spdlog::error("the manager's own agent did not start: {}", a.ToString());
  }
  return state.node_id;
}

Status Daemon::LeaveSwarm(bool force) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  std::shared_ptr<node::Manager> m;
  std::unique_ptr<agent::Agent> session;
  std::unique_ptr<CertRenewer> renewer;
  std::optional<membership::ManagerStats> stats;  // counted before the lock: it reads
  if (!force) {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (manager_) stats = ManagerStatsOf(*manager_);
  }
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    if (!state_) return absl::UnavailableError("This node is not part of a swarm");
    if (locked_ && !force) {
      return absl::UnavailableError(
          "Swarm is encrypted and locked. Please unlock it first or use `--force` to ignore "
          "this message.");
    }
    if (!force) {
      if (std::optional<std::string> refusal =
              membership::ManagerLeaveRefusal(state_->role == "manager", stats)) {
        return absl::UnavailableError(*refusal);
      }
    }
    m = std::move(manager_);
    session = std::move(agent_);
    renewer = std::move(renewer_);
    state_.reset();
    if (locked_ || member_removed_) {
      // A locked manager (or one whose store member was removed) runs nothing: its swarm's
      // files go as Destroy removes them.
      removed_identity_.reset();  // unmounts its tmpfs first
      locked_ = false;
      member_removed_ = false;
      std::error_code ec;
      std::filesystem::remove(StatePath(), ec);
      std::filesystem::remove_all(EtcdDir(options_.data_root), ec);
      std::filesystem::remove(AutolockBoxPath(options_.data_root), ec);
      std::filesystem::remove(KekFilePath(options_.data_root), ec);
      std::filesystem::remove_all(CertificatesIn(options_.data_root).dir, ec);
    }
  }
  if (renewer) renewer->Stop();
  if (m) m->SetCertificateRenewedCallback(nullptr);  // before its agent's session goes
  // Forget membership first: a crash after this point restarts outside the swarm.
  std::error_code ec;
  std::filesystem::remove(StatePath(), ec);
  std::filesystem::remove(ManagerListPath(options_.data_root), ec);
  const bool worker = m == nullptr;
  if (session) {
    session->Stop();  // ends the session: the manager marks this node Down after its window
    session.reset();
  }
  RemoveAllTasks();  // a node outside a swarm runs no tasks
  if (worker) std::filesystem::remove_all(CertificatesIn(options_.data_root).dir, ec);
  if (m) {
    WaitSoleOwner(m);
    m->Destroy();
  }
  spdlog::info("left the swarm");
  return absl::OkStatus();
}

Status Daemon::JoinSwarm(const dockerapi::JoinRequest& request) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (state_) {
      return absl::UnavailableError(
          "This node is already part of a swarm. Use \"docker swarm leave\" to leave this "
          "swarm and join another one.");
    }
  }
  RETURN_IF_ERROR(EnsureExecutor());
  ASSIGN_OR_RETURN(SwarmState state,
                   JoinWithToken(request, options_.data_root, hostname_, options_.etcd_peer_port));
  std::error_code ec;
  if (state.role == "manager") {
    // Any failure is rolled back inside (the member, the node object, the etcd dir, KEK).
    StatusOr<std::unique_ptr<node::Manager>> joined = JoinAsManager(MakeManagerConfig(), state);
    if (!joined.ok()) {
      std::filesystem::remove_all(CertificatesIn(options_.data_root).dir, ec);
      return joined.status();
    }
    std::unique_ptr<node::Manager> m = *std::move(joined);
    if (Status saved = SaveSwarmState(StatePath(), state); !saved.ok()) {
      m->Destroy();  // its member stays in the cluster, as after `leave --force` (part 5)
      return saved;
    }
    std::unique_lock<std::shared_mutex> lock(mu_);
    state_ = state;
    manager_ = std::move(m);
    if (Status a = StartManagerAgentLocked(state); !a.ok()) {
      spdlog::error("the manager's own agent did not start: {}", a.ToString());
    }
    return absl::OkStatus();
  }
  StatusOr<std::unique_ptr<agent::Agent>> session =
      StartNodeAgent(state, state.remote_manager, options_.data_root, hostname_, *executor_);
  Status s = session.status();
  if (s.ok()) s = SaveSwarmState(StatePath(), state);
  if (!s.ok()) {
    if (session.ok()) (*session)->Stop();
    std::filesystem::remove_all(CertificatesIn(options_.data_root).dir, ec);
    return s;
  }
  std::unique_ptr<CertRenewer> renewer = StartWorkerRenewer(
      state, options_.data_root, &(*session)->session(), options_.cert_check_period);
  std::unique_lock<std::shared_mutex> lock(mu_);
  state_ = std::move(state);
  agent_ = *std::move(session);
  renewer_ = std::move(renewer);
  return absl::OkStatus();
}

StatusOr<std::shared_ptr<const dockerapi::ManagerServices>> Daemon::Manager() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  if (state_ && state_->role == "worker") {
    return absl::UnavailableError(dockerapi::kWorkerNotManagerMessage);
  }
  if (locked_) return absl::UnavailableError(dockerapi::kSwarmLockedMessage);
  if (member_removed_) return absl::UnavailableError(kMemberRemovedMessage);
  if (!manager_) return absl::UnavailableError(dockerapi::kNotManagerMessage);
  std::shared_ptr<node::Manager> m = manager_;
  lock.unlock();  // the quorum check may wait for etcd; a leave must not wait behind it
  // The one place every manager call, reads included, learns that there is no quorum (Docker
  // proxies them all to the leader and fails them alike).
  RETURN_IF_ERROR(m->Quorum());
  return std::shared_ptr<const dockerapi::ManagerServices>(m, &m->services());
}

Status Daemon::UnlockSwarm(const SecretBytes& key_text) {
  std::lock_guard<std::mutex> lifecycle(lifecycle_mu_);
  SwarmState state;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    // Docker's errNoManager texts outside a swarm and on a worker.
    if (!state_) return absl::UnavailableError(dockerapi::kNotManagerMessage);
    if (!locked_) {
      if (state_->role == "manager") {
        return absl::AlreadyExistsError("swarm is not locked");  // 409, as Docker's Conflict
      }
      return absl::UnavailableError(dockerapi::kWorkerNotManagerMessage);
    }
    state = *state_;
  }
  ASSIGN_OR_RETURN(SecretBytes key, ca::ParseUnlockKey(key_text.view()));
  ASSIGN_OR_RETURN(std::optional<crypto::AutolockBox> box,
                   crypto::ReadAutolockBox(AutolockBoxPath(options_.data_root)));
  if (!box) return absl::InternalError("the autolock box is missing");
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(RealClock().Now().time_since_epoch())
          .count();
  ASSIGN_OR_RETURN(crypto::UnlockedKeys keys, box->Open(key, now));
  SecretBytes kek = SecretBytes::CopyFrom(keys.kek.view());
  StatusOr<std::unique_ptr<node::Manager>> m =
      node::Manager::Open(MakeManagerConfig(), state, std::move(keys));
  if (!m.ok() && IsMemberRemoved(m.status())) {
    // Demoted while it was down (or removed by `--force-new-cluster` elsewhere): unlocked, it
    // goes on as an unlocked manager does at start (Start): no manager, and the role watch asks
    // another manager for a worker's certificate — with its key opened, in the tmpfs.
    spdlog::error("{}", std::string(m.status().message()));
    auto vault = std::make_unique<IdentityVault>(CertificatesIn(options_.data_root));
    RETURN_IF_ERROR(vault->Cover(kek));
    removed_identity_ = std::move(vault);
    removed_kek_ = std::move(kek);
    spdlog::info("swarm unlocked");
    std::unique_lock<std::shared_mutex> lock(mu_);
    locked_ = false;
    member_removed_ = true;
    return absl::OkStatus();
  }
  if (!m.ok()) {
    spdlog::error("unlocking: the manager did not start: {}", m.status().ToString());
    return absl::InternalError("swarm component could not be started: " +
                               std::string(m.status().message()));
  }
  spdlog::info("swarm unlocked");
  std::unique_lock<std::shared_mutex> lock(mu_);
  locked_ = false;
  manager_ = *std::move(m);
  if (Status a = StartManagerAgentLocked(*state_); !a.ok()) {
    spdlog::error("the manager's own agent did not start: {}", a.ToString());
  }
  return absl::OkStatus();
}

}  // namespace capsule::node
