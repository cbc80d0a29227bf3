#include "agent/session_client.h"

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "agent/assignment_assembler.h"
#include "capsule/dispatcher.grpc.pb.h"
#include "transport/grpc_status.h"

namespace capsule::agent {
namespace {

constexpr std::chrono::milliseconds kDefaultPeriod{5000};
// The RPC deadline of a status report, and the longest of a heartbeat. gRPC's deadlines are
// real time (the network is real), whatever clock the client was given.
constexpr std::chrono::milliseconds kHeartbeatTimeout{10000};
// A heartbeat's deadline is two periods, within these bounds: with a short period a manager
// that stopped answering is left within seconds; with Docker's 5 s it stays 10 s as before, so
// a busy manager gets a fair chance.
constexpr std::chrono::milliseconds kMinHeartbeatTimeout{2000};
// With a single manager known there is nowhere else to go: its connect may take as long as
// gRPC's own connect timeout (a manager restarting under the load of many nodes).
constexpr std::chrono::milliseconds kSoleManagerConnectTimeout{20000};
// How often a pending connect looks whether Stop() was called.
constexpr std::chrono::milliseconds kConnectPoll{200};

std::vector<RemoteManager> ConfiguredManagers(const SessionConfig& c) {
  std::vector<RemoteManager> out = {{"", c.manager_addr}};
  out.insert(out.end(), c.other_managers.begin(), c.other_managers.end());
  return out;
}
// A session that lasted this long was healthy: the next reconnect starts at min_backoff.
constexpr std::chrono::seconds kHealthySession{10};

}  // namespace

SessionClient::SessionClient(SessionConfig config, const Clock& clock)
    : config_(std::move(config)), clock_(clock), managers_(ConfiguredManagers(config_)) {
  identity_ = {config_.identity.cert_pem, SecretBytes::CopyFrom(config_.identity.key_pem.view())};
  root_ca_pem_ = config_.root_ca_pem;
  thread_ = std::thread([this] { Run(); });
}

SessionClient::~SessionClient() { Stop(); }

void SessionClient::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    if (stream_ctx_ != nullptr) stream_ctx_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  connected_ = false;
}

std::vector<RemoteManager> SessionClient::Managers() const {
  MutexLock lock(mu_);
  return managers_.Ordered(current_addr_);
}

std::string SessionClient::CurrentManager() const {
  MutexLock lock(mu_);
  return current_addr_;
}

void SessionClient::TakeRole(const std::string& role) {
  if (role.empty()) return;
  MutexLock lock(mu_);
  if (role != desired_role_) spdlog::info("the swarm wants this node to be a {}", role);
  desired_role_ = role;
}

std::string SessionClient::DesiredRole() const {
  MutexLock lock(mu_);
  return desired_role_;
}

void SessionClient::TakeManagers(const google::protobuf::RepeatedPtrField<api::ManagerInfo>& sent,
                                 bool always) {
  std::vector<RemoteManager> list;
  for (const api::ManagerInfo& m : sent) list.push_back({m.node_id(), m.addr()});
  bool changed = false;
  {
    MutexLock lock(mu_);
    changed = managers_.Replace(list);
  }
  if (!config_.on_managers || !(changed || always)) return;
  MutexLock notify(notify_mu_);
  config_.on_managers(Managers());
}

void SessionClient::SetIdentity(transport::ClientIdentity identity) {
  {
    MutexLock lock(mu_);
    identity_ = std::move(identity);
    reconnect_ = true;
    if (stream_ctx_ != nullptr) stream_ctx_->TryCancel();
  }
  cv_.notify_all();
}

void SessionClient::SetRootCa(std::string root_ca_pem) {
  MutexLock lock(mu_);
  root_ca_pem_ = std::move(root_ca_pem);
}

bool SessionClient::Sleep(std::chrono::milliseconds d) {
  MutexLock lock(mu_);
  return !clock_.WaitFor(cv_, lock.native(), d, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || reconnect_ || stream_ended_;
  });
}

void SessionClient::Run() {
  std::chrono::milliseconds backoff = config_.min_backoff;
  std::string addr;
  {
    MutexLock lock(mu_);
    addr = managers_.Pick("");
  }
  size_t failed_in_row = 0;  // dials and sessions that failed since the last good session
  while (true) {
    const SteadyTime started = clock_.SteadyNow();
    bool opened = false;
    Status s = RunSession(addr, &opened);
    connected_ = false;
    bool renewed = false;
    std::string next;
    size_t known = 0;
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      renewed = reconnect_;
      if (!renewed) {
        managers_.ObserveFailure(addr);
        next = managers_.Pick(addr);
        known = managers_.size();
      }
    }
    if (renewed) {
      spdlog::info("reconnecting to manager {} with the renewed certificate", addr);
      backoff = config_.min_backoff;
      continue;
    }
    // A session that lasted a while was healthy: reconnect quickly.
    if (clock_.SteadyNow() - started > kHealthySession) backoff = config_.min_backoff;
    if (opened) failed_in_row = 0;
    ++failed_in_row;
    std::chrono::milliseconds wait = backoff;
    if (failed_in_row < known) {
      wait = config_.switch_delay;  // another manager not tried yet: at once
    } else {
      failed_in_row = 0;  // a whole round failed: back off before the next
      backoff = std::min(backoff * 2, config_.max_backoff);
    }
    spdlog::warn("session with manager {} ended: {}; connecting to {} in {} ms", addr, s.ToString(),
                 next, wait.count());
    addr = next;
    if (!Sleep(wait)) {
      MutexLock lock(mu_);
      if (stopping_) return;
    }
  }
}

Status SessionClient::Connect(grpc::Channel& channel, const std::string& addr) {
  // gRPC takes system_clock deadlines.
  using SysTime = std::chrono::system_clock::time_point;
  std::chrono::milliseconds budget = config_.connect_timeout;
  {
    MutexLock lock(mu_);
    if (managers_.size() <= 1) budget = std::max(budget, kSoleManagerConnectTimeout);
  }
  const SysTime deadline = std::chrono::system_clock::now() + budget;
  grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY) {
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      return absl::UnavailableError("cannot connect to manager " + addr);
    }
    {
      MutexLock lock(mu_);
      if (stopping_) return absl::CancelledError("stopping");
    }
    const SysTime now = std::chrono::system_clock::now();
    if (now >= deadline) {
      return absl::UnavailableError("no connection to manager " + addr + " within " +
                                    std::to_string(budget.count()) + " ms");
    }
    channel.WaitForStateChange(state, std::min<SysTime>(deadline, now + kConnectPoll));
    state = channel.GetState(/*try_to_connect=*/true);
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> SessionClient::SessionChannel() const {
  MutexLock lock(mu_);
  return channel_;
}

Status SessionClient::RunSession(const std::string& addr, bool* opened) {
  transport::ClientIdentity identity;
  std::string root_ca_pem;
  {
    MutexLock lock(mu_);
    identity = {identity_.cert_pem, SecretBytes::CopyFrom(identity_.key_pem.view())};
    root_ca_pem = root_ca_pem_;
    reconnect_ = false;
    stream_ended_ = false;
    current_addr_ = addr;
  }
  std::shared_ptr<grpc::Channel> channel = transport::NodeChannel(addr, root_ca_pem, &identity);
  if (Status up = Connect(*channel, addr); !up.ok()) {
    MutexLock lock(mu_);
    return stopping_ ? absl::OkStatus() : up;
  }
  std::unique_ptr<api::Dispatcher::Stub> stub = api::Dispatcher::NewStub(channel);
  grpc::ClientContext ctx;
  {
    MutexLock lock(mu_);
    if (stopping_) return absl::OkStatus();
    stream_ctx_ = &ctx;
    if (reconnect_) ctx.TryCancel();
  }
  // The key this session's secrets are sealed to; fresh per session, never the TLS key.
  const crypto::DeliveryKeyPair keys = crypto::NewDeliveryKeyPair();
  api::SessionRequest req;
  req.set_hostname(config_.hostname);
  req.set_delivery_public_key(keys.public_key);
  if (config_.resources) *req.mutable_resources() = *config_.resources;
  std::unique_ptr<grpc::ClientReader<api::SessionMessage>> reader = stub->Session(&ctx, req);
  std::thread reader_thread;
  // `cancel`: this side ends the stream (stop, reconnect, failed heartbeat). When the manager
  // ended it, no cancel: Finish then reports the manager's status (e.g. "node ... was removed").
  auto finish = [&](Status why, bool cancel) {
    if (cancel) ctx.TryCancel();
    if (reader_thread.joinable()) reader_thread.join();
    grpc::Status fs = reader->Finish();
    MutexLock lock(mu_);
    stream_ctx_ = nullptr;
    channel_ = nullptr;
    stream_ended_ = false;  // so the reconnect backoff is slept in full
    if (why.ok() && !stopping_) why = transport::FromGrpcStatus(fs);
    return why;
  };
  api::SessionMessage msg;
  if (!reader->Read(&msg)) return finish(absl::OkStatus(), false);
  const std::string session_id = msg.session_id();
  std::chrono::milliseconds period = msg.heartbeat_period_ms() > 0
                                         ? std::chrono::milliseconds(msg.heartbeat_period_ms())
                                         : kDefaultPeriod;
  {
    MutexLock lock(mu_);
    managers_.ObserveSuccess(addr);
    channel_ = channel;
  }
  *opened = true;
  connected_ = true;
  TakeManagers(msg.managers(), /*always=*/true);  // kept on disk with this manager first
  TakeRole(msg.node_role());
  spdlog::info("session {} with manager {} open (heartbeat every {} ms)", session_id, addr,
               period.count());
  // Assignments arrive on the stream while this thread sends heartbeats.
  reader_thread = std::thread([&] {
    api::SessionMessage m;
    const SessionKeys session_keys{keys, config_.node_id, session_id};
    // A large change arrives in parts; it is handed on only once complete.
    AssignmentAssembler parts;
    api::AssignmentChanges change;
    while (reader->Read(&m)) {
      if (m.managers_size() > 0) TakeManagers(m.managers(), /*always=*/false);
      TakeRole(m.node_role());
      if (m.has_assignments() && config_.on_assignments) {
        StatusOr<bool> complete = parts.Add(std::move(*m.mutable_assignments()), &change);
        if (!complete.ok()) {
          // A broken sequence: a new session starts over with a complete set.
          spdlog::error("session {}: {}; reconnecting", session_id, complete.status().ToString());
          ctx.TryCancel();
          break;
        }
        if (*complete) config_.on_assignments(change, session_keys);
        change.Clear();
      }
      m.Clear();
    }
    {
      MutexLock lock(mu_);
      stream_ended_ = true;
    }
    cv_.notify_all();
  });
  bool ended_by_manager = false;
  while (Sleep(period)) {
    {
      MutexLock lock(mu_);
      ended_by_manager = stream_ended_;
    }
    if (ended_by_manager) break;
    api::HeartbeatRequest hreq;
    hreq.set_session_id(session_id);
    api::HeartbeatResponse hresp;
    grpc::ClientContext hctx;
    hctx.set_deadline(
        std::chrono::system_clock::now() +
        std::clamp<std::chrono::milliseconds>(2 * period, kMinHeartbeatTimeout, kHeartbeatTimeout));
    grpc::Status hs = stub->Heartbeat(&hctx, hreq, &hresp);
    if (!hs.ok()) return finish(transport::FromGrpcStatus(hs), true);
    if (hresp.period_ms() > 0) period = std::chrono::milliseconds(hresp.period_ms());
  }
  if (!ended_by_manager) {
    MutexLock lock(mu_);
    ended_by_manager = stream_ended_;
  }
  return finish(absl::OkStatus(), !ended_by_manager);
}

Status SessionClient::UpdateTaskStatus(const api::UpdateTaskStatusRequest& req) {
  std::shared_ptr<grpc::Channel> channel;
  {
    MutexLock lock(mu_);
    channel = channel_;
  }
  if (!channel) return absl::UnavailableError("no session with a manager");
  std::unique_ptr<api::Dispatcher::Stub> stub = api::Dispatcher::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kHeartbeatTimeout);
  api::UpdateTaskStatusResponse resp;
  grpc::Status s = stub->UpdateTaskStatus(&ctx, req, &resp);
  if (!s.ok()) {
    Status st = transport::FromGrpcStatus(s);
    // A refusal of the whole batch is final; resending it would not change the answer.
    if (st.code() == StatusCode::kPermissionDenied || st.code() == StatusCode::kInvalidArgument) {
      spdlog::warn("manager refused a task status batch: {}", st.ToString());
      return absl::OkStatus();
    }
    return st;
  }
  for (const api::RefusedTaskStatus& r : resp.refused()) {
    spdlog::info("manager refused the status of task {}: {}", r.task_id(), r.reason());
  }
  return absl::OkStatus();
}

}  // namespace capsule::agent
