// The scheduler's decision for one task: which node gets it. Filters (in swarmkit's order):
// the node is Ready with availability active, has room for the task's reservations, matches
// the task's placement constraints, then one of its Placement.Platforms (when any). Among
// the nodes that pass, it picks the one with the fewest recent failures of this service
// (so a task that failed on a node — e.g. "No such image" — is retried elsewhere), then the
// fewest active tasks of this service, then the fewest active tasks overall, then the
// lowest node ID (deterministic). When no node passes, the explanation is swarmkit's
// ("1 node not available for new tasks; insufficient resources on 1 node; scheduling
// constraints not satisfied on 2 nodes").
//
// Not thread-safe: one NodeSet per scheduling pass.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "manager/scheduler/constraint.h"
#include "objects/objects.h"
#include "objects/service.h"

namespace capsule::scheduler {

// ReadyFilter: the node takes new tasks.
bool NodeAcceptsNewTasks(const Node& node);

// A task occupies its node while both its desired and its observed state are <= running.
bool TaskIsActive(const Task& t);

struct Decision {
  std::string node_id;      // empty: no suitable node
  std::string explanation;  // "no suitable node (...)" when node_id is empty
};

class NodeSet {
 public:
  // `now` dates failures: a failed/rejected task counts against its node for 5 minutes.
  NodeSet(std::vector<Node> nodes, TimePoint now);

  // Counts t's load (active tasks) and recent failures. Call for every task first.
  void AddTask(const Task& t);

  // A node for an unassigned task; on success the task's load is added to that node.
  Decision Pick(const Task& t);
  // Whether a task pre-assigned to t.node_id (global services) may run there.
  Decision Confirm(const Task& t);

  // Nodes eligible for t (Ready, active, constraints match; room is not checked), by ID.
  std::vector<std::string> Eligible(const TaskSpec& spec) const;

 private:
  struct Info {
    Node node;
    int active = 0;
    std::map<std::string, int> active_by_service;
    std::map<std::string, int> failures_by_service;
    int64_t reserved_nano_cpus = 0;  // by the active tasks on the node
    int64_t reserved_memory_bytes = 0;
  };
  // The failing filter's index for this node (0 ready, 1 resources, 2 constraints), or -1
  // when it passes.
  int FirstFailure(const Info& info, const TaskSpec& spec,
                   const std::vector<Constraint>& constraints) const;
  Decision NoNode(const std::vector<int>& failures) const;

  std::map<std::string, Info> nodes_;
  TimePoint now_;
};

}  // namespace capsule::scheduler
