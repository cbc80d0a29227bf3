#include "manager/dispatcher/dispatcher_service.h"

#include <deque>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "crypto/node_seal.h"
#include "manager/dispatcher/assignment_parts.h"
#include "manager/dispatcher/session_assignments.h"
#include "manager/dispatcher/task_status_limits.h"
#include "transport/grpc_status.h"

namespace capsule::dispatcher {

using transport::ToGrpcStatus;

namespace {

constexpr size_t kMaxHostnameBytes = 1024;

// The resources a session claims: each within [0, its bound] (node_status_sink.h).
Status ValidateResources(const api::NodeResources& r) {
  if (r.nano_cpus() < 0 || r.nano_cpus() > kMaxNodeNanoCpus) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid resources: nano_cpus ", r.nano_cpus(), " out of range"));
  }
  if (r.memory_bytes() < 0 || r.memory_bytes() > kMaxNodeMemoryBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid resources: memory_bytes ", r.memory_bytes(), " out of range"));
  }
  return absl::OkStatus();
}

// A Session call refused before it started: finishes at once.
class RefusedSession final : public grpc::ServerWriteReactor<api::SessionMessage> {
 public:
  explicit RefusedSession(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

// One open Session stream. The reactor is owned by gRPC; every operation on it goes through
// this handle under `mu`, and none after Finish (after which gRPC may delete it). Messages
// queue here and are written one at a time (gRPC allows one outstanding write).
struct DispatcherService::SessionHandle {
  std::string node_id;
  std::string session_id;
  std::string delivery_public_key;
  Mutex mu;
  SessionReactor* reactor = nullptr;  // set before the handle is shared
  bool finished ABSL_GUARDED_BY(mu) = false;
  bool writing ABSL_GUARDED_BY(mu) = false;  // queue.front() is being written
  std::deque<std::unique_ptr<api::SessionMessage>> queue ABSL_GUARDED_BY(mu);
  // Only the assignment thread touches these (role_sent: set before the handle is shared).
  SessionAssignments assignments;
  std::string role_sent;  // the desired role last sent to the node

  // Queues `msg`; false once finished.
  bool Write(std::unique_ptr<api::SessionMessage> msg);
  // The write of queue.front() completed: start the next one.
  void WriteDone(bool ok);
  // Ends the stream with `status`; later calls do nothing.
  void Finish(const grpc::Status& status);
};

class DispatcherService::SessionReactor final
    : public grpc::ServerWriteReactor<api::SessionMessage> {
 public:
  SessionReactor(DispatcherService* dispatcher, std::shared_ptr<SessionHandle> handle)
      : dispatcher_(dispatcher), handle_(std::move(handle)) {
    handle_->reactor = this;
  }
  void OnWriteDone(bool ok) override { handle_->WriteDone(ok); }
  void OnCancel() override { handle_->Finish(grpc::Status::CANCELLED); }
  void OnDone() override {
    dispatcher_->OnSessionDone(handle_);
    delete this;
  }

 private:
  DispatcherService* dispatcher_;
  std::shared_ptr<SessionHandle> handle_;
};

bool DispatcherService::SessionHandle::Write(std::unique_ptr<api::SessionMessage> msg) {
  MutexLock lock(mu);
  if (finished) return false;
  queue.push_back(std::move(msg));
  if (!writing) {
    writing = true;
    reactor->StartWrite(queue.front().get());
  }
  return true;
}

void DispatcherService::SessionHandle::WriteDone(bool ok) {
  MutexLock lock(mu);
  if (!queue.empty()) queue.pop_front();
  writing = false;
  if (finished) return;
  if (!ok) {
    finished = true;
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "session write failed"));
    return;
  }
  if (!queue.empty()) {
    writing = true;
    reactor->StartWrite(queue.front().get());
  }
}

void DispatcherService::SessionHandle::Finish(const grpc::Status& status) {
  MutexLock lock(mu);
  if (finished) return;
  finished = true;
  reactor->Finish(status);
}

DispatcherService::DispatcherService(const ca::Authorizer& authorizer, NodeStatusSink& sink,
                                     const Clock& clock, DispatcherOptions options,
                                     DispatcherBackends backends)
    : authorizer_(authorizer),
      sink_(sink),
      clock_(clock),
      options_(std::move(options)),
      backends_(backends),
      report_budget_(clock, options_.status_budget),
      managers_(options_.managers) {
  if (backends_.assignments != nullptr) {
    assigner_ = std::thread([this] { RunAssignments(); });
    subscription_ = backends_.assignments->Subscribe([this] { KickAssignments(); });
  }
}

DispatcherService::~DispatcherService() { Shutdown(); }

std::chrono::milliseconds DispatcherService::ExpiryAfter() const {
  return options_.heartbeat_period * options_.down_after_periods;
}

grpc::ServerWriteReactor<api::SessionMessage>* DispatcherService::Session(
    grpc::CallbackServerContext* ctx, const api::SessionRequest* req) {
  StatusOr<ca::PeerIdentity> who = authorizer_.Authorize(*ctx, ca::kAnyNodeRole);
  if (!who.ok()) return new RefusedSession(ToGrpcStatus(who.status()));
  if (Status key = crypto::ValidateDeliveryKey(req->delivery_public_key()); !key.ok()) {
    return new RefusedSession(ToGrpcStatus(key));
  }
  if (req->hostname().size() > kMaxHostnameBytes) {
    return new RefusedSession(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "hostname too long"));
  }
  if (Status r = ValidateResources(req->resources()); !r.ok()) {
    return new RefusedSession(ToGrpcStatus(r));
  }

  auto handle = std::make_shared<SessionHandle>();
  handle->node_id = who->node_id;
  handle->delivery_public_key = req->delivery_public_key();
  auto* reactor = new SessionReactor(this, handle);
  // Read before mu_: the read model calls KickAssignments (which takes mu_) under its own lock.
  const std::string role =
      backends_.assignments != nullptr ? backends_.assignments->DesiredRoleOf(who->node_id) : "";
  std::shared_ptr<SessionHandle> replaced;
  {
    MutexLock lock(mu_);
    if (shut_down_) {
      handle->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "dispatcher is stopping"));
      return reactor;
    }
    NodeEntry& entry = nodes_[who->node_id];
    replaced = std::move(entry.stream);
    entry.stream = handle;
    entry.info = SessionSnapshot{
        who->node_id, who->role, NewId(), req->hostname(), req->delivery_public_key(),
        clock_.Now()};
    handle->session_id = entry.info.session_id;
    auto first = std::make_unique<api::SessionMessage>();
    first->set_session_id(entry.info.session_id);
    first->set_heartbeat_period_ms(static_cast<uint64_t>(options_.heartbeat_period.count()));
    for (const ManagerAddr& m : managers_) {
      api::ManagerInfo* info = first->add_managers();
      info->set_node_id(m.node_id);
      info->set_addr(m.addr);
    }
    handle->role_sent = role;
    first->set_node_role(role);
    // Queued before the assignment thread can see the handle: the first message goes first.
    handle->Write(std::move(first));
    // The node's resources before its Ready, so the scheduler never sees it ready with the
    // figures of another machine or none.
    if (req->has_resources()) {
      sink_.SetNodeResources(who->node_id,
                             {req->resources().nano_cpus(), req->resources().memory_bytes()});
    }
    sink_.SetNodeState(who->node_id, NodeState::kReady);
    assignments_dirty_ = true;
  }
  assign_cv_.notify_all();
  spdlog::info("dispatcher: session opened by node {} ({})", who->node_id, ca::RoleName(who->role));
  if (replaced) {
    replaced->Finish(grpc::Status(grpc::StatusCode::ABORTED, "session replaced by a new session"));
  }
  return reactor;
}

void DispatcherService::OnSessionDone(const std::shared_ptr<SessionHandle>& handle) {
  MutexLock lock(mu_);
  auto it = nodes_.find(handle->node_id);
  if (it != nodes_.end() && it->second.stream == handle) it->second.stream = nullptr;
}

grpc::ServerUnaryReactor* DispatcherService::Heartbeat(grpc::CallbackServerContext* ctx,
                                                       const api::HeartbeatRequest* req,
                                                       api::HeartbeatResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(DoHeartbeat(ctx, *req, resp)));
  return reactor;
}

Status DispatcherService::DoHeartbeat(grpc::CallbackServerContext* ctx,
                                      const api::HeartbeatRequest& req,
                                      api::HeartbeatResponse* resp) {
  ASSIGN_OR_RETURN(ca::PeerIdentity who, authorizer_.Authorize(*ctx, ca::kAnyNodeRole));
  MutexLock lock(mu_);
  auto it = nodes_.find(who.node_id);
  if (it == nodes_.end() || it->second.stream == nullptr ||
      it->second.info.session_id != req.session_id()) {
    return absl::NotFoundError("session not found: open a new session");
  }
  it->second.info.last_seen = clock_.Now();
  resp->set_period_ms(static_cast<uint64_t>(options_.heartbeat_period.count()));
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* DispatcherService::ListSessions(grpc::CallbackServerContext* ctx,
                                                          const api::ListSessionsRequest*,
                                                          api::ListSessionsResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  StatusOr<ca::PeerIdentity> who = authorizer_.AuthorizeManager(*ctx);
  if (!who.ok()) {
    reactor->Finish(ToGrpcStatus(who.status()));
    return reactor;
  }
  for (const SessionSnapshot& s : Sessions()) {
    api::SessionInfo* info = resp->add_sessions();
    info->set_node_id(s.node_id);
    info->set_session_id(s.session_id);
    info->set_hostname(s.hostname);
    info->set_role(ca::RoleName(s.role));
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

void DispatcherService::CheckHeartbeats() {
  std::vector<std::shared_ptr<SessionHandle>> expired;
  {
    MutexLock lock(mu_);
    TimePoint now = clock_.Now();
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      if (now - it->second.info.last_seen > ExpiryAfter()) {
        spdlog::warn("dispatcher: node {} missed its heartbeats; marking it down", it->first);
        sink_.SetNodeState(it->first, NodeState::kDown);
        if (it->second.stream) expired.push_back(std::move(it->second.stream));
        it = nodes_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& handle : expired) {
    handle->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "node heartbeat expired"));
  }
}

void DispatcherService::EndSession(const std::string& node_id, const Status& why) {
  std::shared_ptr<SessionHandle> stream;
  {
    MutexLock lock(mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return;
    stream = std::move(it->second.stream);
    nodes_.erase(it);
  }
  if (stream) stream->Finish(ToGrpcStatus(why));
}

void DispatcherService::StartExpiryTimer() {
  MutexLock lock(mu_);
  if (shut_down_ || timer_.joinable()) return;
  timer_ = std::thread([this] {
    MutexLock lock(mu_);
    while (!shut_down_) {
      if (clock_.WaitFor(timer_cv_, lock.native(), options_.heartbeat_period / 2,
                         [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shut_down_; })) {
        break;
      }
      lock.Unlock();
      CheckHeartbeats();
      lock.Lock();
    }
  });
}

void DispatcherService::Shutdown() {
  std::vector<std::shared_ptr<SessionHandle>> open;
  std::thread timer;
  std::thread assigner;
  uint64_t subscription = 0;
  {
    MutexLock lock(mu_);
    shut_down_ = true;
    timer = std::move(timer_);
    assigner = std::move(assigner_);
    subscription = std::exchange(subscription_, 0);
    for (auto& [id, entry] : nodes_) {
      if (entry.stream) open.push_back(std::move(entry.stream));
    }
  }
  if (subscription != 0) backends_.assignments->Unsubscribe(subscription);
  timer_cv_.notify_all();
  assign_cv_.notify_all();
  if (timer.joinable()) timer.join();
  if (assigner.joinable()) assigner.join();
  for (auto& handle : open) {
    handle->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "dispatcher is stopping"));
  }
}

std::vector<SessionSnapshot> DispatcherService::Sessions() const {
  MutexLock lock(mu_);
  std::vector<SessionSnapshot> out;
  for (const auto& [id, entry] : nodes_) {
    if (entry.stream) out.push_back(entry.info);
  }
  return out;
}

void DispatcherService::SetManagers(std::vector<ManagerAddr> managers) {
  MutexLock lock(mu_);
  managers_ = std::move(managers);
}

void DispatcherService::KickAssignments() {
  {
    MutexLock lock(mu_);
    assignments_dirty_ = true;
  }
  assign_cv_.notify_all();
}

void DispatcherService::RunAssignments() {
  constexpr std::chrono::seconds kRetryAfter{1};
  bool retry = false;
  MutexLock lock(mu_);
  while (!shut_down_) {
    const bool woken = clock_.WaitFor(
        assign_cv_, lock.native(), kRetryAfter,
        [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return shut_down_ || assignments_dirty_; });
    if (shut_down_) break;
    if (!woken && !retry) continue;
    assignments_dirty_ = false;
    lock.Unlock();
    RefreshManagers();
    SendRoleChanges();
    retry = SendAssignments();
    lock.Lock();
  }
}

void DispatcherService::RefreshManagers() {
  std::vector<ManagerAddr> fresh = backends_.assignments->Managers();
  if (fresh.empty()) return;
  std::vector<std::shared_ptr<SessionHandle>> open;
  {
    // Under mu_ with the change: a session that starts after it has the new list in its first
    // message; one open before it gets the message below.
    MutexLock lock(mu_);
    if (fresh == managers_) return;
    managers_ = std::move(fresh);
    for (const auto& [id, entry] : nodes_) {
      if (entry.stream) open.push_back(entry.stream);
    }
    std::string names;
    for (const ManagerAddr& m : managers_) names += (names.empty() ? "" : ", ") + m.addr;
    spdlog::info("dispatcher: managers are now {}; telling {} session(s)", names, open.size());
    for (const std::shared_ptr<SessionHandle>& h : open) {
      auto msg = std::make_unique<api::SessionMessage>();
      for (const ManagerAddr& m : managers_) {
        api::ManagerInfo* info = msg->add_managers();
        info->set_node_id(m.node_id);
        info->set_addr(m.addr);
      }
      h->Write(std::move(msg));
    }
  }
}

void DispatcherService::SendRoleChanges() {
  std::vector<std::shared_ptr<SessionHandle>> open;
  {
    MutexLock lock(mu_);
    for (const auto& [id, entry] : nodes_) {
      if (entry.stream) open.push_back(entry.stream);
    }
  }
  for (const std::shared_ptr<SessionHandle>& h : open) {
    std::string role = backends_.assignments->DesiredRoleOf(h->node_id);
    if (role.empty() || role == h->role_sent) continue;
    spdlog::info("dispatcher: node {} is to be a {} now; telling it", h->node_id, role);
    auto msg = std::make_unique<api::SessionMessage>();
    msg->set_node_role(role);
    h->role_sent = std::move(role);
    h->Write(std::move(msg));
  }
}

// Brings every open session up to date. Returns true when some secret could not be read or
// sealed (the caller retries a little later).
bool DispatcherService::SendAssignments() {
  std::vector<std::shared_ptr<SessionHandle>> open;
  {
    MutexLock lock(mu_);
    for (const auto& [id, entry] : nodes_) {
      if (entry.stream) open.push_back(entry.stream);
    }
  }
  bool retry = false;
  for (const std::shared_ptr<SessionHandle>& h : open) {
    std::vector<store::TaskEntry> tasks = backends_.assignments->TasksOnNode(h->node_id);
    auto seal = [&h](const std::string& secret_id,
                     const SecretBytes& data) -> StatusOr<std::string> {
      return crypto::SealForNode(h->delivery_public_key,
                                 crypto::DeliveryAad(secret_id, h->node_id, h->session_id), data);
    };
    api::AssignmentChanges changes;
    if (!h->assignments.Next(tasks, *backends_.assignments, seal, &changes, &retry)) continue;
    spdlog::debug("dispatcher: node {} assignments{}: +{} -{} tasks, +{} -{} secrets", h->node_id,
                  changes.full_set() ? " (complete set)" : "", changes.tasks_size(),
                  changes.removed_task_ids_size(), changes.secrets_size(),
                  changes.removed_secret_ids_size());
    std::vector<std::pair<std::string, std::string>> sent;  // (ID, name) of each item
    if (options_.on_sent) {
      for (const api::AssignedSecret& item : changes.secrets())
        sent.emplace_back(item.id(), item.name());
    }
    // A large change goes in several consecutive messages (queued together, so nothing
    // interleaves); the node applies it once the last part is in.
    bool queued = true;
    for (api::AssignmentChanges& part : SplitAssignments(std::move(changes))) {
      auto msg = std::make_unique<api::SessionMessage>();
      *msg->mutable_assignments() = std::move(part);
      if (!h->Write(std::move(msg))) {
        queued = false;
        break;
      }
    }
    if (queued) {
      for (const auto& [id, name] : sent) options_.on_sent(h->node_id, id, name);
    }
  }
  return retry;
}

grpc::ServerUnaryReactor* DispatcherService::UpdateTaskStatus(
    grpc::CallbackServerContext* ctx, const api::UpdateTaskStatusRequest* req,
    api::UpdateTaskStatusResponse* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(DoUpdateTaskStatus(ctx, *req, resp)));
  return reactor;
}

Status DispatcherService::DoUpdateTaskStatus(grpc::CallbackServerContext* ctx,
                                             const api::UpdateTaskStatusRequest& req,
                                             api::UpdateTaskStatusResponse* resp) {
  ASSIGN_OR_RETURN(ca::PeerIdentity who, authorizer_.Authorize(*ctx, ca::kAnyNodeRole));
  if (backends_.task_status == nullptr || backends_.assignments == nullptr) {
    return absl::UnimplementedError("this dispatcher does not take task status");
  }
  if (req.updates_size() > static_cast<int>(options_.status_budget.burst)) {
    return absl::InvalidArgumentError("too many task status updates in one call");
  }
  // Validate the whole batch before writing anything.
  std::vector<TaskStatus> statuses;
  for (const api::TaskStatusUpdate& u : req.updates()) {
    std::optional<TaskState> state = ParseTaskState(u.state());
    if (!state) return absl::InvalidArgumentError("unknown task state \"" + u.state() + "\"");
    store::TaskEntry task = backends_.assignments->TaskById(u.task_id());
    if (task && task->object.node_id != who.node_id) {
      return absl::PermissionDeniedError("task " + u.task_id() + " is not assigned to this node");
    }
    TaskStatus s;
    s.state = *state;
    s.message = u.message();
    s.err = u.err();
    s.timestamp =
        u.timestamp_unix_nanos() != 0 ? FromUnixNanos(u.timestamp_unix_nanos()) : clock_.Now();
    if (!u.container_id().empty() || u.pid() != 0 || u.exit_code() != 0) {
      s.container = ContainerStatus{u.container_id(), u.pid(), u.exit_code()};
    }
    statuses.push_back(BoundedTaskStatus(std::move(s)));
  }
  if (!report_budget_.Take(who.node_id, req.updates_size())) {
    return absl::ResourceExhaustedError(
        "task status reports arrive faster than this manager takes them from one node; "
        "resend later");
  }
  for (int i = 0; i < req.updates_size(); ++i) {
    const std::string& id = req.updates(i).task_id();
    Status s = backends_.task_status->UpdateTaskStatus(who.node_id, id, statuses[i]);
    switch (s.code()) {
      case StatusCode::kOk:
        break;
      case StatusCode::kNotFound:
      case StatusCode::kFailedPrecondition:
      case StatusCode::kInvalidArgument: {
        api::RefusedTaskStatus* r = resp->add_refused();
        r->set_task_id(id);
        r->set_reason(std::string(s.message()));
        break;
      }
      default:
        return s;  // PermissionDenied (raced with a reassignment), Unavailable: resend
    }
  }
  return absl::OkStatus();
}

}  // namespace capsule::dispatcher
