#include "store/etcd/grpc_watch.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "store/etcd/grpc_status.h"
#include "store/etcd/proto_convert.h"

namespace capsule::etcd {

GrpcWatch::GrpcWatch(std::shared_ptr<grpc::Channel> channel, WatchCallbacks callbacks)
    : channel_(std::move(channel)),
      stub_(etcdserverpb::Watch::NewStub(channel_)),
      callbacks_(std::move(callbacks)) {}

StatusOr<std::unique_ptr<Watch>> GrpcWatch::Open(std::shared_ptr<grpc::Channel> channel,
                                                 const etcdserverpb::WatchCreateRequest& create,
                                                 WatchCallbacks callbacks,
                                                 std::chrono::milliseconds create_timeout) {
  std::unique_ptr<GrpcWatch> watch(new GrpcWatch(std::move(channel), std::move(callbacks)));
  watch->stream_ = watch->stub_->Watch(&watch->context_);
  etcdserverpb::WatchRequest request;
  *request.mutable_create_request() = create;
  // The create request is written by the reader thread so that a stuck write is bounded by
  // the timeout below (the destructor cancels the context).
  watch->thread_ = std::thread(&GrpcWatch::ReadLoop, watch.get(), std::move(request));

  MutexLock lock(watch->mu_);
  if (!watch->cv_.wait_for(
          lock.native(), create_timeout,
          [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(watch->mu_) { return watch->create_done_; })) {
    return absl::DeadlineExceededError("etcd Watch: no answer to the create request");
  }
  if (watch->create_error_.has_value()) return *watch->create_error_;
  return std::unique_ptr<Watch>(std::move(watch));
}

GrpcWatch::~GrpcWatch() {
  closing_ = true;
  context_.TryCancel();
  if (thread_.joinable()) thread_.join();
}

int64_t ReportedRevision(const std::vector<WatchEvent>& events, int64_t header_revision) {
  // etcd catches a lagging watcher up in batches of at most kEtcdWatchBatchMaxRevs revisions
  // (mvcc's watchBatchMaxRevs), each stamped with the member's current revision; a batch that
  // reached the cap may have more events behind it, so it vouches only for its own last event.
  size_t distinct = 0;
  int64_t previous = 0;
  for (const WatchEvent& e : events) {
    if (e.kv.mod_revision != previous) ++distinct;
    previous = e.kv.mod_revision;
  }
  if (distinct >= kEtcdWatchBatchMaxRevs) return std::min(header_revision, previous);
  return header_revision;
}

void GrpcWatch::SignalCreated(std::optional<Status> error) {
  MutexLock lock(mu_);
  if (create_done_) return;
  create_done_ = true;
  create_error_ = std::move(error);
  cv_.notify_all();
}

void GrpcWatch::ReportError(const Status& status) {
  if (closing_ || !callbacks_.on_error) return;
  callbacks_.on_error(status);
}

void GrpcWatch::CancelAndDrain() {
  context_.TryCancel();
  etcdserverpb::WatchResponse ignored;
  while (stream_->Read(&ignored)) {
  }
  stream_->Finish().IgnoreError();
}

void GrpcWatch::ReadLoop(etcdserverpb::WatchRequest request) {
  bool created = false;
  if (stream_->Write(request)) {
    etcdserverpb::WatchResponse response;
    while (stream_->Read(&response)) {
      if (!created) {
        if (response.created() || response.compact_revision() != 0) {
          created = true;
          SignalCreated(std::nullopt);
        } else if (response.canceled()) {
          SignalCreated(absl::FailedPreconditionError(
              absl::StrCat("etcd Watch: create refused: ", response.cancel_reason())));
          CancelAndDrain();
          return;
        }
      }
      if (response.compact_revision() != 0) {
        ReportError(absl::OutOfRangeError(
            absl::StrCat("etcd Watch: required revision has been compacted; compact revision ",
                         response.compact_revision())));
        CancelAndDrain();
        return;
      }
      if (response.canceled()) {
        ReportError(absl::AbortedError(
            absl::StrCat("etcd Watch: canceled by the server: ", response.cancel_reason())));
        CancelAndDrain();
        return;
      }
      if (response.events_size() > 0 && !closing_ && callbacks_.on_events) {
        std::vector<WatchEvent> events;
        events.reserve(response.events_size());
        for (const auto& e : response.events()) {
          WatchEvent event;
          event.type = e.type() == mvccpb::Event::DELETE ? WatchEvent::Type::kDelete
                                                         : WatchEvent::Type::kPut;
          event.kv = FromProto(e.kv());
          events.push_back(std::move(event));
        }
        callbacks_.on_events(events, ReportedRevision(events, response.header().revision()));
      }
    }
  }
  // The stream ended: the member went away, or we were cancelled.
  grpc::Status final_status = stream_->Finish();
  Status status = final_status.ok()
                      ? absl::UnavailableError("etcd Watch: stream closed by the server")
                      : FromGrpcStatus(final_status, "Watch");
  if (!created) {
    SignalCreated(status);
    return;
  }
  ReportError(status);
}

}  // namespace capsule::etcd
