// Marks Down the nodes whose session manager died with them (leader work).
//
// A node's liveness is judged by the manager that holds its session (node/session_liveness.h:
// only that manager writes it Down). When that manager dies and the node never comes back
// (both killed, a host lost with a manager on it), nobody would: the node would stay Ready
// forever and the orchestrator would never move its tasks. So the leader, every `period`,
// looks at the nodes that are Ready with a session manager other than itself and asks whether
// that manager is reachable (membership/presence.h: its presence key lapses ~2-3 s after it
// dies). A node first seen so (node, session manager) is noticed at that moment; once it has
// stayed so for `grace` (Docker's: 3 heartbeat periods) it is written Down in one
// read-modify-write transaction that checks it is still Ready with the same session manager
// (RecordOrphanedNodeDown), so a node that reconnected to a surviving manager meanwhile (the
// normal failover, milliseconds) is never marked Down. Notices live in memory: a new leader
// gives every such node a whole grace again, which only delays the Down.
//
// Writes go through the store given (the leader's fenced store). Tick() is one pass (tests
// drive it with a FakeClock); Start() runs passes every `period` on a thread, waiting on the
// injected Clock, until Stop(). Thread-safe; `store`, `clock` and `is_reachable` must outlive
// the sweeper.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "common/clock.h"
#include "common/periodic.h"
#include "common/status.h"
#include "store/store.h"

namespace capsule::node {

struct OrphanedNodeOptions {
  std::string self;  // this manager's node ID: its own sessions are its dispatcher's to judge
  std::chrono::milliseconds grace{15000};  // 3 heartbeat periods (5 s by default)
};

class OrphanedNodeSweeper {
 public:
  // `is_reachable(manager node ID)`: Presence::IsReachable.
  using ReachableFn = std::function<bool(const std::string& manager_id)>;

  OrphanedNodeSweeper(store::Store& store, const Clock& clock, ReachableFn is_reachable,
                      OrphanedNodeOptions options);
  ~OrphanedNodeSweeper();  // Stop()
  OrphanedNodeSweeper(const OrphanedNodeSweeper&) = delete;
  OrphanedNodeSweeper& operator=(const OrphanedNodeSweeper&) = delete;

  // One pass; returns how many nodes it marked Down.
  StatusOr<int> Tick();
  void Start(std::chrono::milliseconds period);
  void Stop();  // idempotent

 private:
  store::Store& store_;
  const Clock& clock_;
  const ReachableFn is_reachable_;
  const OrphanedNodeOptions options_;

  std::mutex mu_;
  // (node ID, session manager) → when this sweeper first saw that manager unreachable.
  std::map<std::pair<std::string, std::string>, SteadyTime> noticed_;
  Periodic loop_;
};

}  // namespace capsule::node
