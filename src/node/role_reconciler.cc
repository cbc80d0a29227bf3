#include "node/role_reconciler.h"

#include <spdlog/spdlog.h>

#include "manager/membership/manager_quorum.h"
#include "store/read_modify_write.h"

namespace capsule::node {
namespace {

const etcd::Member* MemberNamed(const std::vector<etcd::Member>& members, const std::string& id) {
  for (const etcd::Member& m : members) {
    if (m.name == id) return &m;
  }
  return nullptr;
}

std::string DesiredRole(const Node& n) { return n.desired_role.empty() ? n.role : n.desired_role; }

}  // namespace

RoleReconciler::RoleReconciler(RoleReconcilerDeps deps, const Clock& clock)
    : deps_(std::move(deps)), clock_(clock), loop_(clock) {}

RoleReconciler::~RoleReconciler() { Stop(); }

StatusOr<int> RoleReconciler::Tick() {
  std::vector<Node> pending;
  for (Node& n : deps_.nodes()) {
    if (DesiredRole(n) != n.role) pending.push_back(std::move(n));
  }
  if (pending.empty()) return 0;
  ASSIGN_OR_RETURN(std::vector<etcd::Member> members, deps_.etcd.MemberList());
  int done = 0;
  for (const Node& n : pending) {
    StatusOr<bool> changed = DesiredRole(n) == "manager" ? Promote(n, members) : Demote(n, members);
    RETURN_IF_ERROR(changed.status());
    done += *changed;
  }
  return done;
}

StatusOr<bool> RoleReconciler::Promote(const Node& n, const std::vector<etcd::Member>& members) {
  const etcd::Member* m = MemberNamed(members, n.id);
  if (m == nullptr || m->is_learner) return false;  // still joining (or not started yet)
  ASSIGN_OR_RETURN(bool written, WriteRole(n.id, "manager"));
  if (written) spdlog::info("role reconciler: node {} promoted to a manager", n.id);
  return written;
}

StatusOr<bool> RoleReconciler::Demote(const Node& n, const std::vector<etcd::Member>& members) {
  if (n.id == deps_.self) {
    // swarmkit: "demoted; transferring leadership". The next leader removes this member.
    spdlog::info("role reconciler: this manager ({}) is demoted; giving up the leadership", n.id);
    deps_.step_down();
    return absl::AbortedError("stepped down to be demoted");
  }
  if (const etcd::Member* m = MemberNamed(members, n.id)) {
    if (!m->is_learner) {
      std::vector<membership::ManagerMember> voters;
      for (const etcd::Member& v : members) {
        if (v.is_learner) continue;
        voters.push_back({v.name, !v.name.empty() && deps_.is_reachable(v.name)});
      }
      if (!membership::CanRemoveMember(voters, n.id, deps_.self)) {
        spdlog::warn(
            "role reconciler: demoting {} now would lose the quorum; its member stays for now",
            n.id);
        return false;
      }
    }
    // etcd's MemberRemove carries no compare, so the decision is checked again right before
    // it (as the learner sweeper does, learner_sweeper.h): still the leader, and the node still
    // to be demoted (linearizable reads). A leader paused before this point and resumed after
    // another manager was elected, or a demotion undone meanwhile, removes nothing.
    RETURN_IF_ERROR(deps_.check_leadership());
    StatusOr<store::StoredRecord> now = deps_.store.Get(kNodesKind, n.id);
    if (absl::IsNotFound(now.status())) return false;
    RETURN_IF_ERROR(now.status());
    ASSIGN_OR_RETURN(Node latest, DecodeNodeMeta(now->record.meta));
    if (DesiredRole(latest) != "worker") return false;
    StatusOr<std::vector<etcd::Member>> removed = deps_.etcd.MemberRemove(m->id);
    if (!removed.ok() && !absl::IsNotFound(removed.status())) return removed.status();
    spdlog::info("role reconciler: removed the store member {:x} of demoted node {}", m->id, n.id);
  }
  ASSIGN_OR_RETURN(bool written, WriteRole(n.id, "worker"));
  if (written) spdlog::info("role reconciler: node {} demoted to a worker", n.id);
  return written;
}

StatusOr<bool> RoleReconciler::WriteRole(const std::string& id, const std::string& role) {
  bool written = false;
  StatusOr<int64_t> rev = store::UpdateLatest(
      deps_.store, kNodesKind, id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        written = false;
        ASSIGN_OR_RETURN(Node n, DecodeNodeMeta(cur.record.meta));
        if (DesiredRole(n) != role || n.role == role) return store::Mutation::kKeep;
        n.role = role;
        if (role == "worker") {
          n.manager_addr.clear();
          n.leader = false;
        }
        n.updated_at = clock_.Now();
        cur.record.meta = EncodeNodeMeta(n);
        written = true;
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return false;  // removed meanwhile
  RETURN_IF_ERROR(rev.status());
  return written;
}

void RoleReconciler::Start(std::chrono::milliseconds period) {
  loop_.Start(period, [this] {
    if (StatusOr<int> r = Tick(); !r.ok() && !absl::IsAborted(r.status())) {
      spdlog::warn("role reconciler: {}", r.status().ToString());
    }
  });
}

void RoleReconciler::Stop() { loop_.Stop(); }

}  // namespace capsule::node
