#include "manager/scheduler/scheduler.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <tuple>

#include "manager/scheduler/constraint.h"

namespace capsule::scheduler {
namespace {

constexpr auto kFailureMemory = std::chrono::minutes(5);

std::string Plural(int n, const char* what) {
  return std::to_string(n) + (n == 1 ? " node " : " nodes ") + what;
}

constexpr int kFilters = 4;  // ready, resources, constraints, platform

std::string ExplainFilter(int filter, int n) {
  if (filter == 0) return Plural(n, "not available for new tasks");
  if (filter == 1) {
    return std::string("insufficient resources on ") + std::to_string(n) +
           (n == 1 ? " node" : " nodes");
  }
  if (filter == 2) {
    // "scheduling constraints not satisfied on 2 nodes"
    return std::string("scheduling constraints not satisfied on ") + std::to_string(n) +
           (n == 1 ? " node" : " nodes");
  }
  return std::string("unsupported platform on ") + std::to_string(n) +
         (n == 1 ? " node" : " nodes");
}

// swarmkit's PlatformFilter: "x86_64" is "amd64" and "aarch64" is "arm64" on either side;
// an empty architecture or OS in the spec matches any.
std::string NormalArch(const std::string& arch) {
  if (arch == "x86_64") return "amd64";
  if (arch == "aarch64") return "arm64";
  return arch;
}

bool PlatformMatches(const std::vector<PlatformSpec>& platforms, const Node& node) {
  if (platforms.empty()) return true;
  for (const PlatformSpec& p : platforms) {
    const bool arch =
        p.architecture.empty() || NormalArch(p.architecture) == NormalArch(node.architecture);
    const bool os =
        p.os.empty() ||
        std::equal(p.os.begin(), p.os.end(), node.os.begin(), node.os.end(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        });
    if (arch && os) return true;
  }
  return false;
}

ResourceReservations ReservationsOf(const TaskSpec& spec) {
  if (!spec.resources || !spec.resources->reservations) return {};
  return *spec.resources->reservations;
}

// ResourceFilter: what is left on the node covers the task's reservations. A node that
// reported no figure for a resource (0) is not checked for it.
bool HasRoom(int64_t total, int64_t reserved, int64_t wanted) {
  return wanted <= 0 || total <= 0 || wanted <= total - reserved;
}

}  // namespace

bool NodeAcceptsNewTasks(const Node& node) {
  return node.state == "ready" && node.availability == "active";
}

bool TaskIsActive(const Task& t) {
  return !t.node_id.empty() && t.desired_state <= TaskState::kRunning &&
         t.status.state <= TaskState::kRunning;
}

NodeSet::NodeSet(std::vector<Node> nodes, TimePoint now) : now_(now) {
  for (Node& n : nodes) {
    std::string id = n.id;
    nodes_[id].node = std::move(n);
  }
}

void NodeSet::AddTask(const Task& t) {
  auto it = nodes_.find(t.node_id);
  if (it == nodes_.end()) return;
  Info& info = it->second;
  if (TaskIsActive(t)) {
    ++info.active;
    ++info.active_by_service[t.service_id];
    const ResourceReservations r = ReservationsOf(t.spec);
    info.reserved_nano_cpus += std::max<int64_t>(r.nano_cpus, 0);
    info.reserved_memory_bytes += std::max<int64_t>(r.memory_bytes, 0);
  }
  if ((t.status.state == TaskState::kFailed || t.status.state == TaskState::kRejected) &&
      now_ - t.status.timestamp < kFailureMemory) {
    ++info.failures_by_service[t.service_id];
  }
}

int NodeSet::FirstFailure(const Info& info, const TaskSpec& spec,
                          const std::vector<Constraint>& constraints) const {
  if (!NodeAcceptsNewTasks(info.node)) return 0;
  const ResourceReservations want = ReservationsOf(spec);
  if (!HasRoom(info.node.nano_cpus, info.reserved_nano_cpus, want.nano_cpus) ||
      !HasRoom(info.node.memory_bytes, info.reserved_memory_bytes, want.memory_bytes)) {
    return 1;
  }
  if (!NodeMatches(constraints, info.node)) return 2;
  if (!PlatformMatches(spec.placement.platforms, info.node)) return 3;
  return -1;
}

// As swarmkit: constraints that do not parse disable the filter (controlapi rejects them).
static std::vector<Constraint> ConstraintsOf(const TaskSpec& spec) {
  StatusOr<std::vector<Constraint>> cs = ParseConstraints(spec.placement.constraints);
  return cs.ok() ? *std::move(cs) : std::vector<Constraint>{};
}

Decision NodeSet::NoNode(const std::vector<int>& failures) const {
  // Most failures first; ties keep the filter order (ready, resources, constraints).
  std::vector<int> order = {0, 1, 2, 3};
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return failures[a] > failures[b]; });
  std::string explanation;
  for (int f : order) {
    if (failures[f] == 0) continue;
    if (!explanation.empty()) explanation += "; ";
    explanation += ExplainFilter(f, failures[f]);
  }
  Decision d;
  d.explanation =
      explanation.empty() ? "no suitable node" : "no suitable node (" + explanation + ")";
  return d;
}

Decision NodeSet::Pick(const Task& t) {
  std::vector<int> failures(kFilters, 0);
  Info* best = nullptr;
  auto key = [&](const Info& i) {
    auto count = [&](const std::map<std::string, int>& m) {
      auto it = m.find(t.service_id);
      return it == m.end() ? 0 : it->second;
    };
    return std::make_tuple(count(i.failures_by_service), count(i.active_by_service), i.active);
  };
  const std::vector<Constraint> constraints = ConstraintsOf(t.spec);
  for (auto& [id, info] : nodes_) {
    const int f = FirstFailure(info, t.spec, constraints);
    if (f >= 0) {
      ++failures[f];
      continue;
    }
    if (best == nullptr || key(info) < key(*best)) best = &info;  // ties: lowest ID (map order)
  }
  if (best == nullptr) return NoNode(failures);
  Task placed = t;
  placed.node_id = best->node.id;
  placed.status.state = TaskState::kAssigned;
  AddTask(placed);
  return Decision{best->node.id, ""};
}

Decision NodeSet::Confirm(const Task& t) {
  std::vector<int> failures(kFilters, 0);
  auto it = nodes_.find(t.node_id);
  if (it == nodes_.end()) {
    failures[0] = 1;
    return NoNode(failures);
  }
  const int f = FirstFailure(it->second, t.spec, ConstraintsOf(t.spec));
  if (f >= 0) {
    failures[f] = 1;
    return NoNode(failures);
  }
  Task placed = t;
  placed.status.state = TaskState::kAssigned;
  AddTask(placed);
  return Decision{t.node_id, ""};
}

std::vector<std::string> NodeSet::Eligible(const TaskSpec& spec) const {
  std::vector<std::string> out;
  const std::vector<Constraint> constraints = ConstraintsOf(spec);
  for (const auto& [id, info] : nodes_) {
    // Not the resource filter: as swarmkit's global orchestrator, a node without room still
    // gets its task, which then waits in pending (and the node's own task must not count
    // against it).
    if (NodeAcceptsNewTasks(info.node) && NodeMatches(constraints, info.node)) out.push_back(id);
  }
  return out;
}

}  // namespace capsule::scheduler
