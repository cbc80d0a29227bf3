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
// Once per term (a sweeper lives for one leadership term) it also reconciles the liveness left
// by earlier runs: the nodes (managers aside) not Down whose session manager is this manager
// or nobody, and that hold no session with this manager's dispatcher, are sessions no
// dispatcher will ever judge (this manager's previous run, a restored store). `grace` after
// the first pass that could read this manager's sessions (`sessions`, when set), they are
// written Down (RecordNodeLiveness "down" as `self`: one transaction that checks the session
// manager); one that opened a session here meanwhile is written Ready again at once. This was
// the swarm server's own unfenced pass after every start of the manager that ran `swarm init`;
// as leader work, a manager that is not (or no longer) the leader cannot mark nodes Down so.
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
#include <optional>
#include <set>
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
  // The node IDs holding a session with this manager's dispatcher now; an error (the swarm
  // port is not serving yet) postpones the reconciliation. Unset: no reconciliation.
  std::function<StatusOr<std::set<std::string>>()> sessions;
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
  // The term's one-time reconciliation (above), once due. → how many nodes it marked Down.
  StatusOr<int> ReconcileSessionless();

  store::Store& store_;
  const Clock& clock_;
  const ReachableFn is_reachable_;
  const OrphanedNodeOptions options_;

  std::mutex mu_;
  // (node ID, session manager) → when this sweeper first saw that manager unreachable.
  std::map<std::pair<std::string, std::string>, SteadyTime> noticed_;
  std::optional<SteadyTime> sessions_seen_;  // the first pass that read the sessions
  bool reconciled_ = false;
  Periodic loop_;
};

}  // namespace capsule::node
