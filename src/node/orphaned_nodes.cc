#include "node/orphaned_nodes.h"

#include <spdlog/spdlog.h>

#include <set>
#include <vector>

#include "node/session_liveness.h"
#include "objects/objects.h"

namespace capsule::node {

OrphanedNodeSweeper::OrphanedNodeSweeper(store::Store& store, const Clock& clock,
                                         ReachableFn is_reachable, OrphanedNodeOptions options)
    : store_(store),
      clock_(clock),
      is_reachable_(std::move(is_reachable)),
      options_(std::move(options)),
      loop_(clock) {}

OrphanedNodeSweeper::~OrphanedNodeSweeper() { Stop(); }

StatusOr<int> OrphanedNodeSweeper::ReconcileSessionless() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reconciled_ || !options_.sessions) return 0;
  }
  StatusOr<std::set<std::string>> live = options_.sessions();
  if (!live.ok()) return 0;  // not serving yet: counted from a later pass
  const SteadyTime now = clock_.SteadyNow();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!sessions_seen_) sessions_seen_ = now;
    if (now - *sessions_seen_ < options_.grace) return 0;
  }
  ASSIGN_OR_RETURN(store::MetaSnapshot snapshot, store_.ListMeta());
  int marked = 0;
  for (const store::ObjectMeta& o : snapshot.objects) {
    if (o.kind != kNodesKind) continue;
    StatusOr<Node> n = DecodeNodeMeta(o.meta);
    if (!n.ok() || n->role == "manager" || n->state == "down" || live->count(n->id) > 0) continue;
    if (!n->session_manager.empty() && n->session_manager != options_.self) continue;
    // A refused fenced write (not the leader any more) ends the pass: the next term reconciles.
    ASSIGN_OR_RETURN(bool down, RecordNodeLiveness(store_, clock_, n->id, "down", options_.self));
    if (!down) continue;
    ++marked;
    // It opened a session here between the read of the sessions and the write: Ready again
    // (its own Ready found it Ready already and wrote nothing).
    StatusOr<std::set<std::string>> now_live = options_.sessions();
    if (now_live.ok() && now_live->count(n->id) > 0) {
      ASSIGN_OR_RETURN(bool ready,
                       RecordNodeLiveness(store_, clock_, n->id, "ready", options_.self));
      if (ready) --marked;
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  reconciled_ = true;
  return marked;
}

StatusOr<int> OrphanedNodeSweeper::Tick() {
  ASSIGN_OR_RETURN(int reconciled, ReconcileSessionless());
  ASSIGN_OR_RETURN(store::MetaSnapshot snapshot, store_.ListMeta());
  // Ready nodes whose session is with another manager that is unreachable now.
  std::set<std::pair<std::string, std::string>> orphaned;
  std::map<std::string, bool> reachable;  // asked once per manager and pass
  for (const store::ObjectMeta& o : snapshot.objects) {
    if (o.kind != kNodesKind) continue;
    StatusOr<Node> n = DecodeNodeMeta(o.meta);
    if (!n.ok() || n->state != "ready") continue;
    const std::string& manager = n->session_manager;
    if (manager.empty() || manager == options_.self) continue;
    auto [it, asked] = reachable.emplace(manager, false);
    if (asked) it->second = is_reachable_(manager);
    if (!it->second) orphaned.emplace(n->id, manager);
  }
  const SteadyTime now = clock_.SteadyNow();
  std::vector<std::pair<std::string, std::string>> overdue;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A node that moved, went down or whose manager came back is forgotten.
    std::erase_if(noticed_, [&](const auto& e) { return orphaned.count(e.first) == 0; });
    for (const auto& key : orphaned) {
      auto [it, inserted] = noticed_.emplace(key, now);
      if (inserted) {
        spdlog::info(
            "node {}: its session manager {} is unreachable; Down in {} ms unless it "
            "reconnects",
            key.first, key.second, options_.grace.count());
      } else if (now - it->second >= options_.grace) {
        overdue.push_back(key);
      }
    }
  }
  int marked = reconciled;
  for (const auto& [node_id, manager] : overdue) {
    StatusOr<bool> w = RecordOrphanedNodeDown(store_, clock_, node_id, manager);
    if (!w.ok()) return w.status();  // a fenced write refused: not the leader any more
    if (*w) ++marked;
    std::lock_guard<std::mutex> lock(mu_);
    noticed_.erase({node_id, manager});
  }
  return marked;
}

void OrphanedNodeSweeper::Start(std::chrono::milliseconds period) {
  loop_.Start(period, [this] {
    if (StatusOr<int> r = Tick(); !r.ok()) {
      spdlog::warn("orphaned nodes: {}", r.status().ToString());
    }
  });
}

void OrphanedNodeSweeper::Stop() { loop_.Stop(); }

}  // namespace capsule::node
