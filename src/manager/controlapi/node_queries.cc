// The read side of NodeApi (declared in node.h): list and resolve, from the read model.
#include "manager/controlapi/node.h"

namespace capsule::controlapi {
namespace {

bool Matches(const Node& n, const NodeFilters& f) {
  const bool name_ok = f.name_prefixes.empty() || MatchAnyPrefix(f.name_prefixes, n.hostname) ||
                       (!n.spec_name.empty() && MatchAnyPrefix(f.name_prefixes, n.spec_name));
  return MatchAnyPrefix(f.id_prefixes, n.id) && name_ok && MatchAny(f.roles, n.role) &&
         MatchAny(f.memberships, "accepted") && MatchLabels(f.labels, n.labels) &&
         MatchLabels(f.node_labels, n.labels);
}

}  // namespace

StatusOr<std::vector<store::NodeEntry>> NodeApi::List(const NodeFilters& filters) const {
  RETURN_IF_ERROR(reads_.WaitFresh());
  std::vector<store::NodeEntry> out;
  for (const store::NodeEntry& n : reads_.Nodes()) {
    if (Matches(n->object, filters)) out.push_back(n);
  }
  return out;
}

StatusOr<store::NodeEntry> NodeApi::Resolve(const std::string& ref) const {
  return ResolveNode(reads_, ref);
}

}  // namespace capsule::controlapi
