#include "node/swarm_server.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "ca/authorizer.h"
#include "ca/root_ca.h"
#include "common/clock.h"
#include "manager/caserver/node_ca_service.h"
#include "manager/dispatcher/dispatcher_service.h"
#include "manager/logbroker/log_broker_service.h"
#include "manager/logbroker/node_down_sink.h"
#include "manager/logbroker/peer_log_service.h"
#include "manager/membership/membership_service.h"
#include "node/dispatcher_backends.h"
#include "node/node_status_writer.h"
#include "node/session_liveness.h"
#include "node/store_token_source.h"
#include "objects/objects.h"
#include "objects/secret_versions.h"
#include "transport/grpc_server.h"

namespace capsule::node {
namespace {

bool IsIp(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// "ip:port" or "ip" → ip ("" if it is not an IP).
std::string AdvertisedIp(const std::string& addr) {
  if (IsIp(addr)) return addr;
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return "";
  std::string host = addr.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return IsIp(host) ? host : "";
}

// Admits nodes into the store: a worker, or a manager (which then becomes an etcd member
// through ManagerMembership; if that fails its object is removed again by AbortJoin).
class StoreNodeRegistry final : public caserver::NodeRegistry {
 public:
  StoreNodeRegistry(controlapi::NodeApi& nodes, const store::ReadModel& reads, const Clock& clock)
      : nodes_(nodes), reads_(reads), clock_(clock) {}
  Status Register(const caserver::NewNode& nn) override {
    Node n;
    n.id = nn.node_id;
    n.created_at = n.updated_at = clock_.Now();
    n.hostname = nn.hostname;
    n.role = nn.role == ca::NodeRole::kManager ? "manager" : "worker";
    n.state = "unknown";  // Ready once its session starts
    std::string ip = AdvertisedIp(nn.advertise_addr);
    n.addr = ip.empty() ? nn.observed_ip : ip;
    if (nn.role == ca::NodeRole::kManager) {
      // ManagerStatus.Addr: the advertised swarm address with its port.
      const bool has_port = !ip.empty() && nn.advertise_addr != ip;
      n.manager_addr = has_port ? nn.advertise_addr : n.addr + ":2377";
      n.leader = false;  // the elected leader marks itself (node/manager_leadership.h)
    }
    n.engine_version = "capsule";
    return nodes_.Register(n);
  }
  std::optional<caserver::RenewalFacts> RenewalOf(const std::string& node_id) const override {
    store::NodeEntry e = reads_.NodeById(node_id);
    if (!e) return std::nullopt;
    const Node& n = e->object;
    const bool manager = n.role == "manager" || n.desired_role == "manager";
    return caserver::RenewalFacts{manager ? ca::NodeRole::kManager : ca::NodeRole::kWorker, n.addr};
  }

 private:
  controlapi::NodeApi& nodes_;
  const store::ReadModel& reads_;
  const Clock& clock_;
};

// Removes the object of a node whose manager join was rolled back.
Status ForgetNode(store::Store& store, store::ReadModel& reads, const std::string& node_id) {
  StatusOr<int64_t> rev = store.Delete({kNodesKind, node_id, ""}, 0);
  RETURN_IF_ERROR(rev.status());
  return reads.WaitFor(*rev, std::chrono::seconds(10));
}

// A node's roles for the manager-only check (ca/manager_check.h says which read is for what).
StatusOr<std::optional<ca::StoreRoles>> StoreRolesOf(store::Store& store,
                                                     const store::ReadModel& reads,
                                                     const std::string& node_id,
                                                     ca::RoleRead read) {
  if (read == ca::RoleRead::kReadModel) {
    store::NodeEntry e = reads.NodeById(node_id);
    if (!e) return std::nullopt;
    return ca::StoreRoles{e->object.role, e->object.desired_role};
  }
  StatusOr<store::StoredRecord> rec = store.Get(kNodesKind, node_id);
  if (absl::IsNotFound(rec.status())) return std::nullopt;
  RETURN_IF_ERROR(rec.status());
  ASSIGN_OR_RETURN(Node n, DecodeNodeMeta(rec->record.meta));
  return ca::StoreRoles{n.role, n.desired_role};
}

StatusOr<ca::RootCa> LoadRootCa(store::Store& store) {
  ASSIGN_OR_RETURN(store::StoredRecord rec, store.Get(kCaKind, "root"));
  nlohmann::json meta = nlohmann::json::parse(rec.record.meta, nullptr, false);
  if (!meta.is_object() || !meta.contains("CertPem") || !meta["CertPem"].is_string()) {
    return absl::DataLossError("stored root CA record is malformed");
  }
  return ca::RootCa::FromPem(meta["CertPem"].get<std::string>(), rec.record.data);
}

std::string ReadFileOrEmpty(const std::string& path) {
  FILE* f = fopen(path.c_str(), "re");
  if (f == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  fclose(f);
  return out;
}

// RecordNodeLiveness, tried again for a while when the store is briefly unavailable (a Raft
// election after a manager died: the moment nodes fail over here), so the session's manager
// is recorded.
Status RecordLivenessRetrying(store::Store& store, const std::string& id, const std::string& state,
                              const std::string& self) {
  constexpr int kAttempts = 15;
  constexpr std::chrono::milliseconds kPause{200};
  Status s;
  for (int i = 0; i < kAttempts; ++i) {
    s = RecordNodeLiveness(store, RealClock(), id, state, self).status();
    const bool transient = absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s) ||
                           absl::IsAborted(s) || absl::IsResourceExhausted(s);
    if (!transient) return s;
    std::this_thread::sleep_for(kPause);
  }
  return s;
}

// The dispatcher's report of each item it sent, as audit events: only secrets (configs and
// registry credentials travel the same way under IDs of their own; a secret's ID names no
// other object). A secret's version n >= 2 travels as "<id>@<n>" (objects/secret_versions.h);
// the event names the secret's own ID and that version.
std::function<void(const std::string&, const std::string&, const std::string&)> DeliveryRecorder(
    const store::ReadModel& reads, audit::Recorder* recorder) {
  if (recorder == nullptr) return nullptr;
  return [&reads, recorder](const std::string& node_id, const std::string& id,
                            const std::string& name) {
    SecretVersionRef ref{id, audit::kFirstVersion};
    if (std::optional<SecretVersionRef> parsed = ParseDeliveryId(id)) ref = *parsed;
    if (reads.SecretById(ref.secret_id) == nullptr) return;
    audit::Event e;
    e.action = audit::Action::kDeliver;
    e.secret_id = ref.secret_id;
    e.secret_name = name;
    e.version = ref.version;
    e.node_id = node_id;
    recorder->Record(std::move(e));
  };
}

}  // namespace

struct SwarmServer::Parts {
  Parts(ca::RootCa root_ca, const SwarmServerConfig& config, store::Store& store,
        store::ReadModel& reads_in, controlapi::NodeApi& nodes_in, MembershipDeps deps)
      : root(std::move(root_ca)),
        reads(reads_in),
        nodes(nodes_in),
        assignment_source(store, reads_in),
        task_status(store),
        authorizer(
            root.cert_pem(), config.cluster_id,
            [this](const std::string& id) { return reads.NodeById(id) == nullptr; }, RealClock(),
            [this, &store](const std::string& id, ca::RoleRead read) {
              return StoreRolesOf(store, reads, id, read);
            }),
        tokens(store, config.cluster_id),
        registry(nodes, reads_in, RealClock()),
        // Liveness names this manager as the session's holder (node/session_liveness.h).
        writer(
            [&store, self = config.node_id](const std::string& id, const std::string& state) {
              return RecordLivenessRetrying(store, id, state, self);
            },
            [this](const std::string& id, const dispatcher::NodeResources& r) {
              return nodes.SetResources(id, r.nano_cpus, r.memory_bytes);
            }),
        ca(root, {config.cluster_id, config.cert_validity}, tokens, registry, authorizer,
           RealClock()),
        dispatcher(authorizer, down_ends_logs, RealClock(),
                   {config.heartbeat_period,
                    3,
                    {{config.node_id, config.manager_addr}},
                    {},
                    DeliveryRecorder(reads_in, config.audit)},
                   {&assignment_source, &task_status}),
        membership(deps.etcd),
        membership_service(membership, authorizer, deps.kek, config.cluster_id,
                           [&store, &reads_in](const std::string& id) {
                             return ForgetNode(store, reads_in, id);
                           }) {}

  ca::RootCa root;
  const store::ReadModel& reads;
  controlapi::NodeApi& nodes;
  ReadModelAssignmentSource assignment_source;
  StoreTaskStatusStore task_status;
  ca::Authorizer authorizer;
  StoreTokenSource tokens;
  StoreNodeRegistry registry;
  NodeStatusWriter writer;
  caserver::NodeCaService ca;
  logbroker::LogBroker log_broker{RealClock()};
  logbroker::NodeDownSink down_ends_logs{writer, log_broker};  // the dispatcher's sink
  dispatcher::DispatcherService dispatcher;
  logbroker::LogBrokerService log_service{authorizer, log_broker};
  logbroker::PeerLogService peer_log_service{authorizer, log_broker};  // manager to manager
  membership::Membership membership;
  membership::MembershipService membership_service;
  std::unique_ptr<transport::GrpcServer> server;
};

SwarmServer::SwarmServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

SwarmServer::~SwarmServer() { Stop(); }

StatusOr<std::unique_ptr<SwarmServer>> SwarmServer::Start(const SwarmServerConfig& config,
                                                          store::Store& store,
                                                          store::ReadModel& reads,
                                                          controlapi::NodeApi& nodes,
                                                          MembershipDeps membership) {
  ASSIGN_OR_RETURN(ca::RootCa root, LoadRootCa(store));
  if (ReadFileOrEmpty(config.certs.root_ca) != root.cert_pem()) {
    return absl::FailedPreconditionError("the stored root CA differs from " + config.certs.root_ca);
  }
  auto parts = std::make_unique<Parts>(std::move(root), config, store, reads, nodes, membership);
  transport::GrpcServerOptions options;
  options.listen_addr = config.listen_addr;
  options.tls = {config.certs.cert, config.certs.key, config.certs.root_ca};
  options.cert_refresh_interval = config.cert_refresh_interval;
  StatusOr<std::unique_ptr<transport::GrpcServer>> server = transport::GrpcServer::Start(
      options, {&parts->ca, &parts->dispatcher, &parts->membership_service, &parts->log_service,
                &parts->peer_log_service});
  if (!server.ok()) {
    parts->log_service.Shutdown();
    parts->log_broker.Shutdown();
    parts->dispatcher.Shutdown();
    parts->writer.Stop();
    return server.status();
  }
  parts->server = *std::move(server);
  parts->dispatcher.StartExpiryTimer();
  spdlog::info("swarm port serving on {} (heartbeat period {} ms)", parts->server->addr(),
               config.heartbeat_period.count());
  std::unique_ptr<SwarmServer> s(new SwarmServer(std::move(parts)));
  if (config.reconcile_liveness) {
    const auto wait = config.heartbeat_period * 3;
    s->reconcile_ = std::thread([p = s.get(), wait] { p->ReconcileAfterStart(wait); });
  }
  return s;
}

// Nodes recorded Ready by a previous run that have not opened a session within the
// expiry window are Down (the dispatcher only judges nodes it has seen); a node whose session
// is with another manager is left to that one (the writer skips it: session_liveness.h).
void SwarmServer::ReconcileAfterStart(std::chrono::milliseconds wait) {
  {
    MutexLock lock(mu_);
    if (cv_.wait_for(lock.native(), wait,
                     [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_; }))
      return;
  }
  std::set<std::string> live;
  for (const auto& s : parts_->dispatcher.Sessions()) live.insert(s.node_id);
  for (const store::NodeEntry& n : parts_->reads.Nodes()) {
    if (n->object.role == "manager" || live.count(n->object.id) > 0) continue;
    if (n->object.state != "down") parts_->writer.Enqueue(n->object.id, "down");
  }
}

void SwarmServer::Stop() {
  {
    MutexLock lock(mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  cv_.notify_all();
  if (reconcile_.joinable()) reconcile_.join();
  parts_->dispatcher.Shutdown();
  parts_->log_broker.Shutdown();
  parts_->log_service.Shutdown();
  if (parts_->server) parts_->server->Stop();
  parts_->writer.Stop();
}

const ca::RootCa& SwarmServer::root_ca() const { return parts_->root; }

logbroker::LogBroker& SwarmServer::log_broker() { return parts_->log_broker; }

void SwarmServer::EndSession(const std::string& node_id) {
  parts_->dispatcher.EndSession(node_id, absl::PermissionDeniedError("node was removed"));
}

}  // namespace capsule::node
