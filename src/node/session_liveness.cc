#include "node/session_liveness.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>

#include "objects/objects.h"
#include "store/read_modify_write.h"

namespace capsule::node {
namespace {

// Applies the transition to `n`; false when nothing changes (or is not ours to change).
bool Apply(Node& n, const std::string& state, const std::string& self) {
  if (state == "ready") {
    if (n.state == state && n.session_manager == self) return false;
    n.state = state;
    n.session_manager = self;
    return true;
  }
  if (state == "down") {
    if (!n.session_manager.empty() && n.session_manager != self) {
      spdlog::info("node {} ({}) missed its heartbeats here but its session is with manager {}",
                   n.id, n.hostname, n.session_manager);
      return false;
    }
    if (n.state == state && n.session_manager.empty()) return false;
    n.state = state;
    n.session_manager.clear();
    return true;
  }
  if (n.state == state) return false;
  n.state = state;
  return true;
}

// The one transaction of both writers: `apply` decides on the node read, the write carries
// the revision read.
StatusOr<bool> Write(store::Store& store, const Clock& clock, const std::string& node_id,
                     const std::string& state, const std::function<bool(Node&)>& apply) {
  std::optional<Node> written;
  StatusOr<int64_t> rev = store::UpdateLatest(
      store, kNodesKind, node_id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        written.reset();
        ASSIGN_OR_RETURN(Node n, DecodeNodeMeta(cur.record.meta));
        if (!apply(n)) return store::Mutation::kKeep;
        n.updated_at = clock.Now();
        cur.record.meta = EncodeNodeMeta(n);
        written = std::move(n);
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return false;  // removed meanwhile
  RETURN_IF_ERROR(rev.status());
  if (written) spdlog::info("node {} ({}) is {}", node_id, written->hostname, state);
  return written.has_value();
}

}  // namespace

StatusOr<bool> RecordNodeLiveness(store::Store& store, const Clock& clock,
                                  const std::string& node_id, const std::string& state,
                                  const std::string& self) {
  return Write(store, clock, node_id, state, [&](Node& n) { return Apply(n, state, self); });
}

StatusOr<bool> RecordOrphanedNodeDown(store::Store& store, const Clock& clock,
                                      const std::string& node_id,
                                      const std::string& session_manager) {
  return Write(store, clock, node_id, "down", [&](Node& n) {
    if (n.state != "ready" || n.session_manager != session_manager) return false;
    spdlog::warn("node {} ({}): its session manager {} is unreachable", n.id, n.hostname,
                 session_manager);
    n.state = "down";
    n.session_manager.clear();
    return true;
  });
}

}  // namespace capsule::node
