#include "manager/logbroker/routed_log_reader.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace capsule::logbroker {

RoutedLogReader::RoutedLogReader(std::string self, LocateSession locate, LocalLogRead local,
                                 PeerLogRead peer, const Clock& clock, RoutedLogOptions options)
    : self_(std::move(self)),
      locate_(std::move(locate)),
      local_(std::move(local)),
      peer_(std::move(peer)),
      clock_(clock),
      options_(options) {}

std::string RoutedLogReader::RouteOf(const NodeSession& node) const {
  if (node.manager_id.empty() || node.manager_id == self_ || node.manager_addr.empty()) return "";
  return node.manager_addr;
}

Status RoutedLogReader::ReadOnce(const std::string& route, const std::string& node_id,
                                 const std::string& task_id, const api::LogSelector& selector,
                                 const std::function<bool()>& cancelled,
                                 const LineSink& sink) const {
  if (route.empty()) return local_(node_id, task_id, selector, cancelled, sink);
  return peer_(route, node_id, task_id, selector, cancelled, sink);
}

std::optional<std::string> RoutedLogReader::AwaitMove(
    const std::string& node_id, const std::string& leaving, const std::string& failed,
    SteadyTime deadline, const std::function<bool()>& cancelled) const {
  std::mutex mu;
  std::condition_variable cv;  // never notified: the waits are the poll period
  for (bool first = true;; first = false) {
    const NodeSession now = locate_(node_id);
    if (!now.exists || !now.ready || now.manager_id.empty()) return std::nullopt;
    // The route just tried is tried again only after a pause (its stream may not be up yet).
    if (std::string to = RouteOf(now); to != leaving && (to != failed || !first)) return to;
    if (cancelled && cancelled()) return std::nullopt;
    if (clock_.SteadyNow() >= deadline) return std::nullopt;
    std::unique_lock<std::mutex> lock(mu);
    clock_.WaitUntil(cv, lock, std::min(deadline, clock_.SteadyNow() + options_.reroute_poll),
                     [] { return false; });
  }
}

Status RoutedLogReader::Read(const std::string& node_id, const std::string& task_id,
                             const api::LogSelector& selector,
                             const std::function<bool()>& cancelled, const LineSink& sink) const {
  api::LogSelector current = selector;
  bool reader_done = false;  // the sink asked for no more
  int64_t lines = 0;
  int64_t last_nanos = -1;  // the time of the last line passed on (-1: none yet)
  const LineSink passing = [&](const api::LogLine& line) {
    ++lines;
    last_nanos = line.time_unix_nanos();
    if (!sink(line)) reader_done = true;
    return !reader_done;
  };
  std::string route = RouteOf(locate_(node_id));
  // While re-routing: the route whose read failed after passing lines on (or first), and when
  // the wait for the node to show up elsewhere ends.
  std::optional<std::string> leaving;
  SteadyTime deadline{};
  for (;;) {
    const int64_t before = lines;
    Status s = ReadOnce(route, node_id, task_id, current, cancelled, passing);
    if (s.ok() || !selector.follow() || reader_done) return s;
    if (cancelled && cancelled()) return s;
    if (!leaving || lines > before) {  // a new failure, not a retry that got nowhere
      leaving = route;
      deadline = clock_.SteadyNow() + options_.reroute_wait;
    }
    std::optional<std::string> next = AwaitMove(node_id, *leaving, route, deadline, cancelled);
    if (!next) return s;
    if (last_nanos >= 0) {  // pick up just after the last line passed on
      current.set_tail(-1);
      current.set_since_unix_nanos(last_nanos + 1);
    }
    route = *next;
  }
}

}  // namespace capsule::logbroker
