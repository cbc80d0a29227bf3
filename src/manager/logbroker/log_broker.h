// The manager's log broker (as swarmkit's manager/logbroker): it routes log subscriptions
// from readers on this manager (the Docker API's logs routes) to the nodes that hold the
// tasks' logs, and the lines the nodes publish back to the readers. No gRPC here: the
// LogBroker service (log_broker_service.h) and the readers call it.
//
//   Reader side   Subscribe(node, tasks, selector) sends the subscription to the node's
//                 listener and returns a Subscription to Pop lines from; Close() (the reader
//                 went away) tells the node to stop. Read() is the whole blocking loop.
//   Node side     Listen(node, send) registers the node's ListenSubscriptions stream; when it
//                 ends (Unlisten) every subscription sent through it ends (UNAVAILABLE).
//                 Publish(node, msg, resume) queues a message of lines for its subscription.
//                 EndNode(node): the node's session ended; its subscriptions end too.
//
// Authorization (the node ID is the one of the caller's certificate): a node may publish only
// for a subscription addressed to it (else PERMISSION_DENIED; unknown → NOT_FOUND) and only
// lines of that subscription's tasks (else PERMISSION_DENIED); a refused message queues
// nothing.
//
// Bounds: each subscription queues at most options.max_queued_bytes of lines (plus the one
// message that crossed the bound). Publish answers false when the queue is full: the caller
// must not offer more until `resume` is called (the service then stops reading the node's
// stream, and gRPC's flow control pushes back to the node). A slow reader thus holds at most
// that much per subscription, and never the tasks (their shims write files independently).
//
// Thread-safe. Waits go through the injected Clock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "capsule/logbroker.pb.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"

namespace capsule::logbroker {

struct LogBrokerOptions {
  size_t max_queued_bytes = 1 << 20;  // per subscription
  // Read() without follow gives up on a node that sends nothing for this long (a node that
  // hangs yields what it sent so far).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(5)};
  // How often Read() polls its `cancelled` while no line arrives.
  std::chrono::milliseconds poll_period{250};
};

class LogBroker;

// One subscription as its reader sees it. Thread-safe.
class Subscription {
 public:
  enum class Next { kLines, kTimeout, kEnd };

  const std::string& id() const { return id_; }
  const std::string& node_id() const { return node_id_; }

  // Waits up to `wait` for the next published message. kLines: its lines are appended to
  // `out`. kEnd: the node sent its close (`end` OK, or UNAVAILABLE with the node's error), its
  // stream ended, or the subscription was closed; nothing more comes.
  Next Pop(std::chrono::milliseconds wait, std::vector<api::LogLine>* out, Status* end);
  // The reader is done: the node is told to stop, queued lines are dropped. Idempotent.
  void Close();

  // Internal (used by LogBroker).
  Subscription(LogBroker& broker, const Clock& clock, std::string id, std::string node_id,
               std::set<std::string> tasks, size_t max_queued_bytes);
  struct Listener;

 private:
  friend class LogBroker;
  // Marks the end (first call wins) and returns the publishers waiting for room.
  std::vector<std::function<void()>> End(Status why);

  LogBroker& broker_;
  const Clock& clock_;
  const std::string id_;
  const std::string node_id_;
  const std::set<std::string> tasks_;
  const size_t max_queued_bytes_;
  std::weak_ptr<Listener> listener_;  // set once by LogBroker::Subscribe

  Mutex mu_;
  std::condition_variable cv_;
  std::deque<api::PublishLogsMessage> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;  // no more messages will be queued
  Status end_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> resume_ ABSL_GUARDED_BY(mu_);
};

// A node's ListenSubscriptions stream: `send` writes one message to it (must not block).
struct Subscription::Listener {
  std::string node_id;
  std::function<void(const api::SubscriptionMessage&)> send;
};

class LogBroker {
 public:
  LogBroker(const Clock& clock, LogBrokerOptions options = {});
  ~LogBroker();  // Shutdown()

  // ---- reader side
  // UNAVAILABLE when `node_id` has no listener (the node is down or not listening).
  StatusOr<std::shared_ptr<Subscription>> Subscribe(const std::string& node_id,
                                                    const std::vector<std::string>& task_ids,
                                                    const api::LogSelector& selector);
  // Subscribes to one task and calls `sink` for each line until the node closes the
  // subscription, `sink` returns false, `cancelled()` turns true, the node's stream ends or,
  // without follow, idle_timeout passes without a message (DEADLINE_EXCEEDED, after the lines
  // that did arrive). The node's error (e.g. no log for the task) comes back UNAVAILABLE.
  Status Read(const std::string& node_id, const std::string& task_id,
              const api::LogSelector& selector, const std::function<bool()>& cancelled,
              const std::function<bool(const api::LogLine&)>& sink);

  // ---- node side
  // Registers node_id's stream (a newer one takes over new subscriptions).
  std::shared_ptr<Subscription::Listener> Listen(
      const std::string& node_id, std::function<void(const api::SubscriptionMessage&)> send);
  // The stream ended: its subscriptions end with UNAVAILABLE.
  void Unlisten(const std::shared_ptr<Subscription::Listener>& listener);
  // Queues `msg` from `node_id` (see the file comment). true: offer more; false: the queue is
  // full, offer more only after `resume` runs (from the reader's thread, or at once when
  // the subscription ends meanwhile).
  StatusOr<bool> Publish(const std::string& node_id, api::PublishLogsMessage msg,
                         std::function<void()> resume);

  // The node's dispatcher session ended (e.g. its heartbeat expired: it may hang without its
  // streams breaking): its open subscriptions end with UNAVAILABLE, so follows of its tasks
  // end. Later subscriptions go to its stream again.
  void EndNode(const std::string& node_id);

  // Ends every subscription (UNAVAILABLE) and refuses new ones. Idempotent.
  void Shutdown();

 private:
  friend class Subscription;
  void Forget(const std::string& subscription_id);

  const Clock& clock_;
  const LogBrokerOptions options_;
  Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::string, std::shared_ptr<Subscription::Listener>> listeners_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Subscription>> subscriptions_ ABSL_GUARDED_BY(mu_);
};

// The selector's options in the wire form and back (tail -1 = all, since 0 = none).
api::LogSelector MakeSelector(bool stdout_lines, bool stderr_lines, bool follow,
                              std::optional<size_t> tail, TimePoint since);

}  // namespace capsule::logbroker
