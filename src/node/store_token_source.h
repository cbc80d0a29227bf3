// The join tokens the NodeCA checks a join against, read from the store itself (for etcd, a
// linearizable read) on every join rather than from this manager's read model. A rotation
// acknowledged on any manager is therefore seen by the next join on every manager: there is
// no window in which this manager's watch has not caught up and the old token still admits a
// node (issue 13 part 4). Joins are rare, so the round trip per join costs nothing that
// matters. When the store cannot be read no token matches and the join is refused — never
// answered from a stale copy.
#pragma once

#include <string>

#include "manager/caserver/ca_interfaces.h"
#include "store/store.h"

namespace capsule::node {

class StoreTokenSource final : public caserver::TokenSource {
 public:
  // `cluster_id`: the cluster object's ID (the swarm's cluster ID).
  StoreTokenSource(store::Store& store, std::string cluster_id)
      : store_(store), cluster_id_(std::move(cluster_id)) {}
  caserver::JoinTokens CurrentTokens() const override;

 private:
  store::Store& store_;
  const std::string cluster_id_;
};

}  // namespace capsule::node
