#include "node/manager_leadership.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "objects/objects.h"

namespace capsule::node {
namespace {

StatusOr<int64_t> WriteLeaderFlag(store::Store& store, const store::NodeEntry& n, bool leader) {
  Node node = n->object;
  node.leader = leader;
  return store.Update({kNodesKind, node.id, ""}, n->mod_revision, {EncodeNodeMeta(node), {}});
}

}  // namespace

StatusOr<int64_t> MarkSelfLeader(store::Store& store, const store::ReadModel& reads,
                                 const std::string& self, const std::function<bool()>& stop) {
  while (!stop()) {
    store::NodeEntry n = reads.NodeById(self);
    if (n) {
      StatusOr<int64_t> r = WriteLeaderFlag(store, n, true);
      if (r.ok()) {
        while (!stop()) {
          if (reads.WaitFor(*r, std::chrono::milliseconds(200)).ok()) return r;
        }
        break;
      }
      if (r.status().code() == absl::StatusCode::kFailedPrecondition) return r.status();
      if (r.status().code() != absl::StatusCode::kAborted) {
        spdlog::warn("marking this manager's node object as the leader's: {}",
                     r.status().ToString());
      }
    }
    // Stale or not there yet: let the read model catch up a little, then read again.
    (void)reads.WaitFor(reads.applied_revision() + 1, std::chrono::milliseconds(100));
  }
  return absl::CancelledError("leader work stopped");
}

Status ClearOtherLeaders(store::Store& store, const store::ReadModel& reads,
                         const std::string& self, const std::function<bool()>& stop) {
  constexpr int kPasses = 20;
  Status last;
  for (int pass = 0; pass < kPasses && !stop(); ++pass) {
    bool done = true;
    for (const store::NodeEntry& n : reads.Nodes()) {
      if (n->object.id == self || !n->object.leader) continue;
      StatusOr<int64_t> r = WriteLeaderFlag(store, n, false);
      if (r.ok()) continue;
      if (r.status().code() == absl::StatusCode::kFailedPrecondition) return r.status();
      last = r.status();
      done = false;  // changed meanwhile (or gone): read again
    }
    if (done) return absl::OkStatus();
    (void)reads.WaitFor(store.LastWrittenRevision(), std::chrono::milliseconds(200));
    (void)reads.WaitFor(reads.applied_revision() + 1, std::chrono::milliseconds(100));
  }
  if (!last.ok()) spdlog::warn("clearing other managers' Leader flag: {}", last.ToString());
  return last;
}

}  // namespace capsule::node
