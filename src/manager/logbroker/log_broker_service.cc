#include "manager/logbroker/log_broker_service.h"

#include <deque>
#include <utility>

#include "common/log.h"
#include "transport/grpc_status.h"

namespace capsule::logbroker {

using transport::ToGrpcStatus;

namespace {

class RefusedListen final : public grpc::ServerWriteReactor<api::SubscriptionMessage> {
 public:
  explicit RefusedListen(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

class RefusedPublish final : public grpc::ServerReadReactor<api::PublishLogsMessage> {
 public:
  explicit RefusedPublish(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

// One open ListenSubscriptions stream. The reactor is owned by gRPC; every operation on it goes
// through this handle under `mu`, none after Finish. Messages are written one at a time.
struct LogBrokerService::ListenHandle {
  Mutex mu;
  grpc::ServerWriteReactor<api::SubscriptionMessage>* reactor = nullptr;
  bool finished ABSL_GUARDED_BY(mu) = false;
  bool writing ABSL_GUARDED_BY(mu) = false;
  std::deque<api::SubscriptionMessage> queue ABSL_GUARDED_BY(mu);
  std::shared_ptr<Subscription::Listener> listener;

  void Write(const api::SubscriptionMessage& msg) {
    MutexLock lock(mu);
    if (finished) return;
    queue.push_back(msg);
    if (!writing) {
      writing = true;
      reactor->StartWrite(&queue.front());
    }
  }
  void WriteDone(bool ok) {
    MutexLock lock(mu);
    if (!queue.empty()) queue.pop_front();
    writing = false;
    if (finished) return;
    if (!ok) {
      finished = true;
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "log stream write failed"));
      return;
    }
    if (!queue.empty()) {
      writing = true;
      reactor->StartWrite(&queue.front());
    }
  }
  void Finish(const grpc::Status& status) {
    MutexLock lock(mu);
    if (finished) return;
    finished = true;
    reactor->Finish(status);
  }
};

namespace {

class ListenReactor final : public grpc::ServerWriteReactor<api::SubscriptionMessage> {
 public:
  ListenReactor(std::shared_ptr<LogBrokerService::ListenHandle> handle,
                std::function<void()> on_done)
      : handle_(std::move(handle)), on_done_(std::move(on_done)) {
    handle_->reactor = this;
  }
  void OnWriteDone(bool ok) override { handle_->WriteDone(ok); }
  void OnCancel() override { handle_->Finish(grpc::Status::CANCELLED); }
  void OnDone() override {
    on_done_();
    delete this;
  }

 private:
  std::shared_ptr<LogBrokerService::ListenHandle> handle_;
  std::function<void()> on_done_;
};

// One PublishLogs stream. Reads one message at a time; while the subscription is full the
// next read waits for the broker's resume. `gate` guards against a resume after Finish.
class PublishReactor final : public grpc::ServerReadReactor<api::PublishLogsMessage> {
 public:
  PublishReactor(LogBroker& broker, std::string node_id)
      : broker_(broker), node_id_(std::move(node_id)), gate_(std::make_shared<Gate>()) {
    gate_->reactor = this;
    MutexLock lock(gate_->mu);
    StartRead(&msg_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {  // the node half-closed (or the call broke)
      Finish(grpc::Status::OK);
      return;
    }
    std::shared_ptr<Gate> gate = gate_;
    StatusOr<bool> room = broker_.Publish(node_id_, std::move(msg_), [gate] { gate->Resume(); });
    msg_.Clear();
    if (!room.ok()) {
      Finish(ToGrpcStatus(room.status()));
      return;
    }
    if (*room) {
      MutexLock lock(gate_->mu);
      if (!gate_->finished) StartRead(&msg_);
    }
  }
  void OnCancel() override { Finish(grpc::Status::CANCELLED); }
  void OnDone() override { delete this; }

 private:
  struct Gate {
    Mutex mu;
    PublishReactor* reactor = nullptr;
    bool finished ABSL_GUARDED_BY(mu) = false;
    void Resume() {
      MutexLock lock(mu);
      if (!finished) reactor->StartRead(&reactor->msg_);
    }
  };
  void Finish(const grpc::Status& status) {
    MutexLock lock(gate_->mu);
    if (gate_->finished) return;
    gate_->finished = true;
    grpc::ServerReadReactor<api::PublishLogsMessage>::Finish(status);
  }

  LogBroker& broker_;
  const std::string node_id_;
  std::shared_ptr<Gate> gate_;
  api::PublishLogsMessage msg_;
};

}  // namespace

LogBrokerService::LogBrokerService(const ca::Authorizer& authorizer, LogBroker& broker)
    : authorizer_(authorizer), broker_(broker) {}

grpc::ServerWriteReactor<api::SubscriptionMessage>* LogBrokerService::ListenSubscriptions(
    grpc::CallbackServerContext* ctx, const api::ListenSubscriptionsRequest*) {
  StatusOr<ca::PeerIdentity> who = authorizer_.Authorize(*ctx, ca::kAnyNodeRole);
  if (!who.ok()) return new RefusedListen(ToGrpcStatus(who.status()));
  auto handle = std::make_shared<ListenHandle>();
  auto* reactor = new ListenReactor(handle, [this, handle] {
    broker_.Unlisten(handle->listener);
    MutexLock lock(mu_);
    listens_.erase(handle);
  });
  {
    MutexLock lock(mu_);
    if (shut_down_) {
      handle->listener = std::make_shared<Subscription::Listener>();
      handle->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "log broker is stopping"));
      return reactor;
    }
    listens_.insert(handle);
  }
  std::weak_ptr<ListenHandle> weak = handle;
  handle->listener = broker_.Listen(who->node_id, [weak](const api::SubscriptionMessage& m) {
    if (auto h = weak.lock()) h->Write(m);
  });
  return reactor;
}

grpc::ServerReadReactor<api::PublishLogsMessage>* LogBrokerService::PublishLogs(
    grpc::CallbackServerContext* ctx, api::PublishLogsResponse*) {
  StatusOr<ca::PeerIdentity> who = authorizer_.Authorize(*ctx, ca::kAnyNodeRole);
  if (!who.ok()) return new RefusedPublish(ToGrpcStatus(who.status()));
  return new PublishReactor(broker_, who->node_id);
}

void LogBrokerService::Shutdown() {
  std::set<std::shared_ptr<ListenHandle>> open;
  {
    MutexLock lock(mu_);
    shut_down_ = true;
    open = listens_;
  }
  for (const auto& h : open) {
    h->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "log broker is stopping"));
  }
}

}  // namespace capsule::logbroker
