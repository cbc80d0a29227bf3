#include "node/store_token_source.h"

#include <spdlog/spdlog.h>

#include "objects/objects.h"

namespace capsule::node {

caserver::JoinTokens StoreTokenSource::CurrentTokens() const {
  StatusOr<store::StoredRecord> r = store_.Get(kClusterKind, cluster_id_);
  if (!r.ok()) {
    spdlog::warn("NodeCA: cannot read the join tokens, refusing joins meanwhile: {}",
                 r.status().ToString());
    return {};
  }
  StatusOr<Cluster> cluster = DecodeClusterMeta(r->record.meta);
  if (!cluster.ok()) return {};
  return {cluster->worker_join_token, cluster->manager_join_token};
}

}  // namespace capsule::node
