// Task logs of any node through any manager (issue 12 part 2). A node's session, and so its
// log stream, is with one manager (Node::session_manager, node/session_liveness.h); only that
// manager's LogBroker reaches it. RoutedLogReader::Read sends each read where the node's
// session is: to this manager's broker (`local`) when the session is here or no other
// manager is known to hold it, else to that manager over the swarm port (`peer`: LogPeer,
// peer_log_client.h), which reads from its own broker and streams the lines back.
//
// Follow across a failover: a follow whose read ends with an error (the node's stream or its
// manager went away) while the reader still wants lines and the node is still Ready waits up
// to `reroute_wait` for the node's session to show up with another manager, then reads on
// there from just after the last line it passed on (since = that line's time + 1 ns, no tail;
// before any line the original selector is kept). A read at the new manager that fails before
// any line (the node's log stream there is not up yet) is tried again every `reroute_poll`
// within the same wait. A node that is Down, removed or without a session manager, or that
// stays with the same manager (e.g. it has no log for the task), ends the read with the
// error, as before.
//
// Thread-safe as the injected functions are; waits go through the injected Clock.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "capsule/logbroker.pb.h"
#include "common/clock.h"
#include "common/status.h"

namespace capsule::logbroker {

// Where a node's session is, as the store says.
struct NodeSession {
  bool exists = false;       // false: the node is unknown (removed)
  bool ready = false;        // its state is "ready"
  std::string manager_id;    // the manager holding its session ("" = none known)
  std::string manager_addr;  // that manager's swarm address (ip:port; "" = unknown)
};

using LineSink = std::function<bool(const api::LogLine&)>;

// As LogBroker::Read.
using LocalLogRead = std::function<Status(
    const std::string& node_id, const std::string& task_id, const api::LogSelector& selector,
    const std::function<bool()>& cancelled, const LineSink& sink)>;
// The same through the manager at `manager_addr`.
using PeerLogRead =
    std::function<Status(const std::string& manager_addr, const std::string& node_id,
                         const std::string& task_id, const api::LogSelector& selector,
                         const std::function<bool()>& cancelled, const LineSink& sink)>;
using LocateSession = std::function<NodeSession(const std::string& node_id)>;

struct RoutedLogOptions {
  // A follow whose read failed waits this long for the node to reconnect to another manager.
  std::chrono::milliseconds reroute_wait{std::chrono::seconds(10)};
  std::chrono::milliseconds reroute_poll{std::chrono::milliseconds(250)};
};

class RoutedLogReader {
 public:
  // `self`: this manager's node ID. `clock` must outlive the reader.
  RoutedLogReader(std::string self, LocateSession locate, LocalLogRead local, PeerLogRead peer,
                  const Clock& clock, RoutedLogOptions options = {});

  // As LogBroker::Read, for a task on any node (see the file comment).
  Status Read(const std::string& node_id, const std::string& task_id,
              const api::LogSelector& selector, const std::function<bool()>& cancelled,
              const LineSink& sink) const;

  // Where a read for `node` goes: "" = this manager's broker, else the peer's address.
  std::string RouteOf(const NodeSession& node) const;

 private:
  Status ReadOnce(const std::string& route, const std::string& node_id, const std::string& task_id,
                  const api::LogSelector& selector, const std::function<bool()>& cancelled,
                  const LineSink& sink) const;
  // Waits until `deadline` for `node_id`'s session to be somewhere other than `leaving`: its
  // route, or nullopt (the node is not Ready, the wait ran out, or the reader went away).
  // `failed` (the route whose read just failed) is given again only after a poll period.
  std::optional<std::string> AwaitMove(const std::string& node_id, const std::string& leaving,
                                       const std::string& failed, SteadyTime deadline,
                                       const std::function<bool()>& cancelled) const;

  const std::string self_;
  const LocateSession locate_;
  const LocalLogRead local_;
  const PeerLogRead peer_;
  const Clock& clock_;
  const RoutedLogOptions options_;
};

}  // namespace capsule::logbroker
