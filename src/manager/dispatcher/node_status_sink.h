// Where the dispatcher reports node liveness (the lead's node store: `node ls` STATUS) and what
// a node says it offers tasks (its Description.Resources, sent at session start).
#pragma once

#include <cstdint>
#include <string>

namespace capsule::dispatcher {

enum class NodeState { kReady, kDown };

const char* NodeStateName(NodeState state);  // "ready" | "down"

// A node's Description.Resources: its CPUs × 1e9 and memory in bytes (0 = unknown).
struct NodeResources {
  int64_t nano_cpus = 0;
  int64_t memory_bytes = 0;
  bool operator==(const NodeResources&) const = default;
};

// What a session may claim: a million CPUs, 1 EiB. Bounds, not checks of plausibility: they
// keep the scheduler's sums far from overflow.
inline constexpr int64_t kMaxNodeNanoCpus = 1'000'000LL * 1'000'000'000LL;
inline constexpr int64_t kMaxNodeMemoryBytes = int64_t{1} << 60;

// Called by the dispatcher with its own lock held, in the order things happen (a session's
// resources before its Ready): must be quick and must not call back into the dispatcher.
// Thread-safe.
class NodeStatusSink {
 public:
  virtual ~NodeStatusSink() = default;
  virtual void SetNodeState(const std::string& node_id, NodeState state) = 0;
  // The resources the node sent at session start, within the bounds above.
  virtual void SetNodeResources(const std::string& node_id, const NodeResources& resources) = 0;
};

}  // namespace capsule::dispatcher
