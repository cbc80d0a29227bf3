#include "manager/dispatcher/dispatcher_service.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/ids.h"
#include "common/log.h"
#include "transport/grpc_status.h"

namespace capsule::dispatcher {

using transport::ToGrpcStatus;

namespace {

constexpr size_t kMaxHostnameBytes = 1024;

// A Session call refused before it started: finishes at once.
class RefusedSession final : public grpc::ServerWriteReactor<api::SessionMessage> {
 public:
  explicit RefusedSession(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

// One open Session stream. The reactor is owned by gRPC; every operation on it goes through
// this handle under `mu`, and none after Finish (after which gRPC may delete it).
struct DispatcherService::SessionHandle {
  std::string node_id;
  std::mutex mu;
  SessionReactor* reactor = nullptr;  // set before the handle is shared
  bool finished = false;              // guarded by mu

  // Starts writing *msg (which must live until OnWriteDone); false once finished.
  bool Write(const api::SessionMessage* msg);
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
  api::SessionMessage* first() { return &first_; }

  void OnWriteDone(bool ok) override {
    if (!ok) handle_->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "session write failed"));
  }
  void OnCancel() override { handle_->Finish(grpc::Status::CANCELLED); }
  void OnDone() override {
    dispatcher_->OnSessionDone(handle_);
    delete this;
  }

 private:
  DispatcherService* dispatcher_;
  std::shared_ptr<SessionHandle> handle_;
  api::SessionMessage first_;
};

bool DispatcherService::SessionHandle::Write(const api::SessionMessage* msg) {
  std::lock_guard<std::mutex> lock(mu);
  if (finished) return false;
  reactor->StartWrite(msg);
  return true;
}

void DispatcherService::SessionHandle::Finish(const grpc::Status& status) {
  std::lock_guard<std::mutex> lock(mu);
  if (finished) return;
  finished = true;
  reactor->Finish(status);
}

DispatcherService::DispatcherService(const ca::Authorizer& authorizer, NodeStatusSink& sink,
                                     const Clock& clock, DispatcherOptions options)
    : authorizer_(authorizer),
      sink_(sink),
      clock_(clock),
      options_(std::move(options)),
      managers_(options_.managers) {}

DispatcherService::~DispatcherService() { Shutdown(); }

std::chrono::milliseconds DispatcherService::ExpiryAfter() const {
  return options_.heartbeat_period * options_.down_after_periods;
}

grpc::ServerWriteReactor<api::SessionMessage>* DispatcherService::Session(
    grpc::CallbackServerContext* ctx, const api::SessionRequest* req) {
  StatusOr<ca::PeerIdentity> who = authorizer_.Authorize(*ctx, ca::kAnyNodeRole);
  if (!who.ok()) return new RefusedSession(ToGrpcStatus(who.status()));
  if (req->delivery_public_key().size() != kDeliveryPublicKeyBytes) {
    return new RefusedSession(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("delivery_public_key must be ", kDeliveryPublicKeyBytes, " bytes")));
  }
  if (req->hostname().size() > kMaxHostnameBytes) {
    return new RefusedSession(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "hostname too long"));
  }

  auto handle = std::make_shared<SessionHandle>();
  handle->node_id = who->node_id;
  auto* reactor = new SessionReactor(this, handle);
  std::shared_ptr<SessionHandle> replaced;
  {
    std::lock_guard<std::mutex> lock(mu_);
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
    api::SessionMessage* first = reactor->first();
    first->set_session_id(entry.info.session_id);
    first->set_heartbeat_period_ms(static_cast<uint64_t>(options_.heartbeat_period.count()));
    for (const ManagerAddr& m : managers_) {
      api::ManagerInfo* info = first->add_managers();
      info->set_node_id(m.node_id);
      info->set_addr(m.addr);
    }
    sink_.SetNodeState(who->node_id, NodeState::kReady);
  }
  spdlog::info("dispatcher: session opened by node {} ({})", who->node_id, ca::RoleName(who->role));
  if (replaced) {
    replaced->Finish(grpc::Status(grpc::StatusCode::ABORTED, "session replaced by a new session"));
  }
  handle->Write(reactor->first());
  return reactor;
}

void DispatcherService::OnSessionDone(const std::shared_ptr<SessionHandle>& handle) {
  std::lock_guard<std::mutex> lock(mu_);
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
  std::lock_guard<std::mutex> lock(mu_);
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
  StatusOr<ca::PeerIdentity> who = authorizer_.Authorize(*ctx, {ca::NodeRole::kManager});
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
    std::lock_guard<std::mutex> lock(mu_);
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
    std::lock_guard<std::mutex> lock(mu_);
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) return;
    stream = std::move(it->second.stream);
    nodes_.erase(it);
  }
  if (stream) stream->Finish(ToGrpcStatus(why));
}

void DispatcherService::StartExpiryTimer() {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_ || timer_.joinable()) return;
  timer_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!shut_down_) {
      timer_cv_.wait_for(lock, options_.heartbeat_period / 2);
      if (shut_down_) break;
      lock.unlock();
      CheckHeartbeats();
      lock.lock();
    }
  });
}

void DispatcherService::Shutdown() {
  std::vector<std::shared_ptr<SessionHandle>> open;
  std::thread timer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    timer = std::move(timer_);
    for (auto& [id, entry] : nodes_) {
      if (entry.stream) open.push_back(std::move(entry.stream));
    }
  }
  timer_cv_.notify_all();
  if (timer.joinable()) timer.join();
  for (auto& handle : open) {
    handle->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "dispatcher is stopping"));
  }
}

std::vector<SessionSnapshot> DispatcherService::Sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SessionSnapshot> out;
  for (const auto& [id, entry] : nodes_) {
    if (entry.stream) out.push_back(entry.info);
  }
  return out;
}

void DispatcherService::SetManagers(std::vector<ManagerAddr> managers) {
  std::lock_guard<std::mutex> lock(mu_);
  managers_ = std::move(managers);
}

}  // namespace capsule::dispatcher
