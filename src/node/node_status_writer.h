// The dispatcher's NodeStatusSink: records liveness transitions in the store. The dispatcher
// calls the sink with its lock held, so transitions are queued and written in order by one
// small worker thread (store writes never run under the dispatcher's lock).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "common/mutex.h"
#include "common/status.h"
#include "manager/dispatcher/node_status_sink.h"

namespace capsule::node {

class NodeStatusWriter final : public dispatcher::NodeStatusSink {
 public:
  // `write` performs one transition (e.g. NodeApi::SetState); its errors are logged.
  using WriteFn = std::function<Status(const std::string& node_id, const std::string& state)>;

  explicit NodeStatusWriter(WriteFn write);
  ~NodeStatusWriter() override;  // Stop()

  void SetNodeState(const std::string& node_id, dispatcher::NodeState state) override;
  // Queues a write that is not a dispatcher transition (e.g. startup reconciliation).
  void Enqueue(const std::string& node_id, const std::string& state);
  // Writes what is queued, then joins the thread. Idempotent.
  void Stop();

 private:
  void Run();

  const WriteFn write_;
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace capsule::node
