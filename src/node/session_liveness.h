// Node liveness as the dispatcher of one manager records it. Every manager runs a dispatcher
// and a node's session moves between them when its manager goes (agent/session_client.h), so
// a manager that stops hearing from a node must not mark it Down when the node has meanwhile
// opened a session with another manager: the node object names the manager that holds its
// session (Node::session_manager, Capsule's own field, not in the Docker API).
//   "ready": state ready, session_manager = `self` (written when either differs: a node that
//            moved here is re-stamped even though it was ready already).
//   "down":  only while session_manager is `self` or "" (a node whose session is with another
//            manager is that manager's to judge); state down, session_manager cleared.
//   other:   the state alone, as before.
// RecordOrphanedNodeDown is the leader's Down for a node whose session manager is unreachable
// (node/orphaned_nodes.h): written only while the node is still Ready with that session
// manager, checked in the same transaction.
// A removed node is not an error (nothing to write). Thread-safe as the store is.
#pragma once

#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace capsule::node {

// → whether anything was written.
StatusOr<bool> RecordNodeLiveness(store::Store& store, const Clock& clock,
                                  const std::string& node_id, const std::string& state,
                                  const std::string& self);

// → whether it was written (false: the node moved to another manager, is no longer Ready, or
// was removed).
StatusOr<bool> RecordOrphanedNodeDown(store::Store& store, const Clock& clock,
                                      const std::string& node_id,
                                      const std::string& session_manager);

}  // namespace capsule::node
