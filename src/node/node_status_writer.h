// The dispatcher's NodeStatusSink: records liveness transitions and the resources nodes report
// in the store. The dispatcher calls the sink with its lock held, so reports are queued and
// written in order by one small worker thread (store writes never run under the dispatcher's
// lock).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
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
  // `write_resources` records a node's resources (e.g. NodeApi::SetResources); its errors are
  // logged. Empty: resource reports are dropped.
  using WriteResourcesFn =
      std::function<Status(const std::string& node_id, const dispatcher::NodeResources& r)>;

  explicit NodeStatusWriter(WriteFn write, WriteResourcesFn write_resources = nullptr);
  ~NodeStatusWriter() override;  // Stop()

  void SetNodeState(const std::string& node_id, dispatcher::NodeState state) override;
  void SetNodeResources(const std::string& node_id,
                        const dispatcher::NodeResources& resources) override;
  // Queues a write that is not a dispatcher transition (e.g. startup reconciliation).
  void Enqueue(const std::string& node_id, const std::string& state);
  // Writes what is queued, then joins the thread. Idempotent.
  void Stop();

 private:
  // One queued write: a state, or (when `resources` is set) the node's resources.
  struct Pending {
    std::string node_id;
    std::string state;
    std::optional<dispatcher::NodeResources> resources;
  };
  void Push(Pending p);
  void Write(const Pending& p);
  void Run();

  const WriteFn write_;
  const WriteResourcesFn write_resources_;
  Mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace capsule::node
