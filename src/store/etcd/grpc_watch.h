// One etcd watch = one bidirectional Watch stream with its own reader thread.
// Internal to src/store/etcd; reached through Client::WatchRange.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "etcd/rpc.grpc.pb.h"
#include "store/etcd/etcd_client.h"

namespace capsule::etcd {

// etcd sends a watcher that is catching up at most this many distinct revisions per response.
inline constexpr size_t kEtcdWatchBatchMaxRevs = 1000;

// The revision a watch response may vouch for: its header revision, unless the batch hit
// etcd's catch-up cap (then its last event's revision). Every event at or below it was delivered.
int64_t ReportedRevision(const std::vector<WatchEvent>& events, int64_t header_revision);

class GrpcWatch : public Watch {
 public:
  // Opens the stream, sends the create request and waits (up to create_timeout) for etcd to
  // confirm it. A start revision that is already compacted counts as created: on_error then
  // reports OutOfRange from the reader thread.
  static StatusOr<std::unique_ptr<Watch>> Open(std::shared_ptr<grpc::Channel> channel,
                                               const etcdserverpb::WatchCreateRequest& create,
                                               WatchCallbacks callbacks,
                                               std::chrono::milliseconds create_timeout);
  ~GrpcWatch() override;

 private:
  GrpcWatch(std::shared_ptr<grpc::Channel> channel, WatchCallbacks callbacks);
  void ReadLoop(etcdserverpb::WatchRequest request);
  // Ends the stream after a terminal response: cancel, drain, collect the final status.
  void CancelAndDrain();
  void SignalCreated(std::optional<Status> error);
  void ReportError(const Status& status);

  std::shared_ptr<grpc::Channel> channel_;  // keeps the connection alive past the Client
  std::unique_ptr<etcdserverpb::Watch::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>
      stream_;
  WatchCallbacks callbacks_;
  std::atomic<bool> closing_{false};

  Mutex mu_;
  std::condition_variable cv_;
  bool create_done_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Status> create_error_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;
};

}  // namespace capsule::etcd
