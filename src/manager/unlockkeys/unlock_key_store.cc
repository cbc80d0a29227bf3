#include "manager/unlockkeys/unlock_key_store.h"

#include <spdlog/spdlog.h>

#include "crypto/random.h"
#include "objects/objects.h"
#include "store/read_modify_write.h"

namespace capsule::unlockkeys {

StatusOr<std::optional<ClusterUnlockKeys>> ReadUnlockKeys(store::Store& store,
                                                          const std::string& cluster_id) {
  StatusOr<store::StoredRecord> r = store.Get(kClusterKind, cluster_id);
  if (absl::IsNotFound(r.status())) return absl::NotFoundError("cluster not found");
  RETURN_IF_ERROR(r.status());
  return DecodeUnlockKeys(r->record.data);
}

StatusOr<std::optional<ClusterUnlockKeys>> ConvergeUnlockKeys(store::Store& store,
                                                              const std::string& cluster_id,
                                                              const Clock& clock,
                                                              const ConvergeOptions& options) {
  std::optional<ClusterUnlockKeys> result;
  bool changed = false;
  StatusOr<int64_t> rev = store::UpdateLatest(
      store, kClusterKind, cluster_id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(Cluster cluster, DecodeClusterMeta(cur.record.meta));
        ASSIGN_OR_RETURN(result, DecodeUnlockKeys(cur.record.data));
        UnlockKeyRequest request{cluster.spec.autolock_managers, options.rotate, clock.Now(),
                                 options.grace, options.adopt};
        changed = NextUnlockKeys(result, request, [] { return crypto::RandomKey(32); });
        if (!changed) return store::Mutation::kKeep;
        cur.record.data = EncodeUnlockKeys(result);
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return absl::NotFoundError("cluster not found");
  RETURN_IF_ERROR(rev.status());
  if (changed) {
    spdlog::info("the swarm's unlock key {}", !result
                                                  ? "was dropped (autolock off)"
                                                  : (options.rotate ? "was rotated" : "was set"));
  }
  return result;
}

}  // namespace capsule::unlockkeys
