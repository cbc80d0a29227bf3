// Where the dispatcher reports node liveness (the lead's node store: `node ls` STATUS).
#pragma once

#include <string>

namespace capsule::dispatcher {

enum class NodeState { kReady, kDown };

const char* NodeStateName(NodeState state);  // "ready" | "down"

// Called by the dispatcher with its own lock held, in the order the transitions happen: must
// be quick and must not call back into the dispatcher. Thread-safe.
class NodeStatusSink {
 public:
  virtual ~NodeStatusSink() = default;
  virtual void SetNodeState(const std::string& node_id, NodeState state) = 0;
};

}  // namespace capsule::dispatcher
