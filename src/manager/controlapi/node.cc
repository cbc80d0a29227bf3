#include "manager/controlapi/node.h"

#include <spdlog/spdlog.h>

#include <functional>
#include <optional>

#include "manager/controlapi/resolve.h"
#include "store/read_modify_write.h"

namespace capsule::controlapi {
namespace {

Status NodeNotFound(const std::string& id) {
  return absl::NotFoundError("node " + id + " not found");
}

// The node's latest version with `change` applied and stamped, unless `change` says there is
// nothing to change (false). → the node as written, nullopt when nothing was written (no
// change, or the node was removed meanwhile).
StatusOr<std::optional<Node>> WriteIfChanged(store::Store& store, const Clock& clock,
                                             const std::string& id,
                                             const std::function<bool(Node&)>& change) {
  std::optional<Node> written;
  StatusOr<int64_t> rev = store::UpdateLatest(
      store, kNodesKind, id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        written.reset();
        ASSIGN_OR_RETURN(Node n, DecodeNodeMeta(cur.record.meta));
        if (!change(n)) return store::Mutation::kKeep;
        n.updated_at = clock.Now();
        cur.record.meta = EncodeNodeMeta(n);
        written = std::move(n);
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return std::optional<Node>();  // removed meanwhile
  RETURN_IF_ERROR(rev.status());
  return written;
}

}  // namespace

NodeApi::NodeApi(store::Store& store, const store::ReadModel& reads, const Clock& clock,
                 OnRemovedFn on_removed, ManagerRoster roster)
    : store_(store),
      reads_(reads),
      clock_(clock),
      on_removed_(std::move(on_removed)),
      roster_(std::move(roster)) {}

Status NodeApi::CheckDemotion(const std::string& id) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  int managers = 0;
  for (const store::NodeEntry& n : reads_.Nodes()) managers += n->object.role == "manager";
  std::vector<membership::ManagerMember> members;
  if (roster_.members) {
    ASSIGN_OR_RETURN(members, roster_.members());
  } else if (managers != 1) {
    return absl::OkStatus();  // no roster (tests of other rules): only the last-manager rule
  }
  return membership::CheckDemotion(managers, members, id, roster_.self);
}

bool NodeApi::IsStoreMember(const std::string& id) const {
  if (!roster_.members) return true;
  StatusOr<std::vector<membership::ManagerMember>> members = roster_.members();
  if (!members.ok()) return true;
  bool self = false, found = false;
  for (const membership::ManagerMember& m : *members) {
    self = self || m.node_id == roster_.self;
    found = found || m.node_id == id;
  }
  return found || !self;  // a list without the serving manager itself is not trusted
}

Status NodeApi::Update(const std::string& id, int64_t version, const NodeSpecUpdate& in) {
  std::string availability;
  bool role_change = false;
  Status refused;  // a demotion guard's answer, kept apart from the store's NotFound
  StatusOr<int64_t> rev = store::UpdateAtVersion(
      store_, kNodesKind, id, version, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        refused = absl::OkStatus();
        ASSIGN_OR_RETURN(Node n, DecodeNodeMeta(cur.record.meta));
        NodeSpecUpdate spec = in;  // empty role/availability: unchanged
        if (n.desired_role.empty()) n.desired_role = n.role;
        if (spec.role.empty()) spec.role = n.desired_role;
        if (spec.availability.empty()) spec.availability = n.availability;
        if (spec.availability != "active" && spec.availability != "pause" &&
            spec.availability != "drain") {
          return absl::InvalidArgumentError("invalid Availability: \"" + spec.availability + "\"");
        }
        if (spec.role != "worker" && spec.role != "manager") {
          return absl::InvalidArgumentError("invalid Role: \"" + spec.role + "\"");
        }
        if (n.desired_role == "manager" && spec.role == "worker") {
          refused = CheckDemotion(id);
          if (!refused.ok()) return refused;
        }
        // Asynchronous, as Docker: the leader's role reconciler makes the observed role follow.
        role_change = spec.role != n.desired_role;
        n.desired_role = spec.role;
        n.spec_name = spec.name;
        n.labels = spec.labels;
        n.availability = spec.availability;
        n.updated_at = clock_.Now();
        cur.record.meta = EncodeNodeMeta(n);
        availability = n.availability;
        return store::Mutation::kWrite;
      });
  if (!refused.ok()) return refused;
  if (absl::IsNotFound(rev.status())) return NodeNotFound(id);
  RETURN_IF_ERROR(rev.status());
  spdlog::info("node updated: id={} availability={}{}", id, availability,
               role_change ? " role=" + in.role + " (desired)" : "");
  return absl::OkStatus();
}

Status NodeApi::SetManagerAddr(const std::string& id, const std::string& manager_addr) {
  return WriteIfChanged(store_, clock_, id,
                        [&](Node& n) {
                          if (n.manager_addr == manager_addr) return false;
                          n.manager_addr = manager_addr;
                          return true;
                        })
      .status();
}

Status NodeApi::Remove(const std::string& id, bool force) {
  RETURN_IF_ERROR(reads_.WaitFresh());
  store::NodeEntry e = reads_.NodeById(id);
  if (!e) return NodeNotFound(id);
  // swarmkit refuses a Raft member; a manager node whose member is gone (removed by
  // `swarm init --force-new-cluster`) may be removed like a worker.
  if (e->object.role == "manager" && IsStoreMember(id)) {
    return absl::FailedPreconditionError(
        "node " + id +
        " is a cluster manager and is a member of the raft cluster. It must be demoted to "
        "worker before removal");
  }
  if (!force && e->object.state == "ready") {
    return absl::FailedPreconditionError("node " + id + " is not down and can't be removed");
  }
  StatusOr<int64_t> rev = store_.Delete({kNodesKind, id, ""}, 0);
  if (absl::IsNotFound(rev.status())) return NodeNotFound(id);
  RETURN_IF_ERROR(rev.status());
  // The Authorizer treats a node without an object as removed: wait until reads say so.
  RETURN_IF_ERROR(reads_.WaitFor(*rev, std::chrono::seconds(10)));
  if (on_removed_) on_removed_(id);
  spdlog::info("node removed: id={} hostname={}", id, e->object.hostname);
  return absl::OkStatus();
}

Status NodeApi::Register(const Node& node) {
  ASSIGN_OR_RETURN(int64_t rev,
                   store_.Create({kNodesKind, node.id, ""}, {EncodeNodeMeta(node), {}}));
  RETURN_IF_ERROR(reads_.WaitFor(rev, std::chrono::seconds(10)));
  spdlog::info("node joined: id={} hostname={} role={} addr={}", node.id, node.hostname, node.role,
               node.addr);
  return absl::OkStatus();
}

Status NodeApi::SetState(const std::string& id, const std::string& state) {
  ASSIGN_OR_RETURN(std::optional<Node> written, WriteIfChanged(store_, clock_, id, [&](Node& n) {
                     if (n.state == state) return false;
                     n.state = state;
                     return true;
                   }));
  if (written) spdlog::info("node {} ({}) is {}", id, written->hostname, state);
  return absl::OkStatus();
}

Status NodeApi::SetResources(const std::string& id, int64_t nano_cpus, int64_t memory_bytes) {
  if (nano_cpus < 0 || memory_bytes < 0) {
    return absl::InvalidArgumentError("invalid node resources");
  }
  ASSIGN_OR_RETURN(std::optional<Node> written, WriteIfChanged(store_, clock_, id, [&](Node& n) {
                     if (n.nano_cpus == nano_cpus && n.memory_bytes == memory_bytes) return false;
                     n.nano_cpus = nano_cpus;
                     n.memory_bytes = memory_bytes;
                     return true;
                   }));
  if (written) {
    spdlog::info("node {} reports NanoCPUs={} MemoryBytes={}", id, nano_cpus, memory_bytes);
  }
  return absl::OkStatus();
}

StatusOr<store::NodeEntry> ResolveNode(const store::ReadModel& reads, const std::string& ref) {
  RETURN_IF_ERROR(reads.WaitFresh());
  if (store::NodeEntry n = reads.NodeById(ref)) return n;
  const std::vector<store::NodeEntry> nodes = reads.Nodes();
  for (const store::NodeEntry& n : nodes) {
    if (n->object.hostname == ref || (!ref.empty() && n->object.spec_name == ref)) return n;
  }
  return UniqueIdPrefix(nodes, "node", ref, NodeNotFound(ref));
}

}  // namespace capsule::controlapi
