// The node's side of the manager's log broker (api/capsule/logbroker.proto): while the node's
// dispatcher session is open, it keeps ListenSubscriptions open on the session's channel; for
// each subscription it reads the named tasks' local logs one after the other (TaskLogs::Read
// with the subscription's selector; with follow until the task's log is complete; the manager
// subscribes one task at a time) and sends the lines
// with PublishLogs, then a close (with the error when a log could not be read). A close from
// the manager cancels that subscription's read. A write the manager is not reading yet blocks
// that subscription's reader only (gRPC flow control); the tasks' shims write their files
// independently.
//
// `channel()` returns the open session's channel or null; when it changes (the session ended
// or reconnected) the listen stream is cancelled and reopened on the new one. Runs on its own
// threads (one for the stream, one per open subscription). Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "agent/executor/task_logs.h"
#include "capsule/logbroker.pb.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace capsule::agent {

class LogPublisher {
 public:
  using ChannelFn = std::function<std::shared_ptr<grpc::Channel>()>;

  // Starts at once. `logs` and `clock` must outlive the publisher.
  LogPublisher(ChannelFn channel, const TaskLogs& logs, const Clock& clock);
  ~LogPublisher();  // Stop()
  LogPublisher(const LogPublisher&) = delete;
  LogPublisher& operator=(const LogPublisher&) = delete;

  // Cancels the stream and every subscription and joins the threads. Idempotent.
  void Stop();

 private:
  struct Active;  // one subscription being served (see the .cc)

  void Run();
  // One ListenSubscriptions stream on `channel`, until it ends, the session's channel changes
  // or Stop().
  void Listen(const std::shared_ptr<grpc::Channel>& channel);
  void Serve(const std::shared_ptr<grpc::Channel>& channel, const api::SubscriptionMessage& sub,
             const std::shared_ptr<Active>& active) const;

  const ChannelFn channel_;
  const TaskLogs& logs_;
  const Clock& clock_;
  Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace capsule::agent
