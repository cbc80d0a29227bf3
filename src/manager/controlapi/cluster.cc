#include "manager/controlapi/cluster.h"

#include <spdlog/spdlog.h>

#include "ca/join_token.h"
#include "manager/controlapi/root_rotation.h"
#include "store/read_modify_write.h"

namespace capsule::controlapi {

ClusterApi::ClusterApi(store::Store& store, const store::ReadModel& reads, const Clock& clock)
    : store_(store), reads_(reads), clock_(clock) {}

Status ClusterApi::Update(int64_t version, const ClusterUpdate& update) {
  const ClusterSpec& spec = update.spec;
  if (spec.heartbeat_period_ns < 0 || spec.task_history_retention_limit < 0 ||
      spec.node_cert_expiry_ns < 0) {
    return absl::InvalidArgumentError("invalid cluster spec: negative value");
  }
  RETURN_IF_ERROR(reads_.WaitFresh());
  store::ClusterEntry e = reads_.GetCluster();
  if (!e) return absl::NotFoundError("cluster not found");
  // A root rotation (root_rotation.h): its new root's key is saved before the cluster names it.
  ASSIGN_OR_RETURN(CaChange ca_change,
                   PlanCaChange(store_, e->object, spec, update.signing_ca_key, clock_.Now()));
  StatusOr<int64_t> rev =
      store::UpdateAtVersion(store_, kClusterKind, e->object.id, version,
                             [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
                               ASSIGN_OR_RETURN(Cluster c, DecodeClusterMeta(cur.record.meta));
                               if (c.root_ca_cert_pem != e->object.root_ca_cert_pem ||
                                   c.rotation_cert_pem != e->object.rotation_cert_pem) {
                                 return store::OutOfSequence();  // the CA moved meanwhile
                               }
                               ApplyCaChange(ca_change, &c);
                               // The address pools are set at init only.
                               const ClusterSpec before = c.spec;
                               c.spec = spec;
                               c.spec.default_addr_pool = before.default_addr_pool;
                               c.spec.subnet_size = before.subnet_size;
                               c.spec.secret_versions_kept = before.secret_versions_kept;
                               if (c.spec.name.empty()) c.spec.name = "default";
                               if (update.rotate_worker_token)
                                 c.worker_join_token = ca::NewJoinToken(c.root_ca_cert_pem);
                               if (update.rotate_manager_token) {
                                 c.manager_join_token = ca::NewJoinToken(c.root_ca_cert_pem);
                               }
                               c.updated_at = clock_.Now();
                               cur.record.meta = EncodeClusterMeta(c);
                               return store::Mutation::kWrite;
                             });
  if (absl::IsNotFound(rev.status())) return absl::NotFoundError("cluster not found");
  RETURN_IF_ERROR(rev.status());
  // The CA reads tokens from the read model: a rotated token must be refused from now on.
  RETURN_IF_ERROR(reads_.WaitFor(*rev, std::chrono::seconds(10)));
  spdlog::info("cluster updated{}{}{}", update.rotate_worker_token ? " (worker token rotated)" : "",
               update.rotate_manager_token ? " (manager token rotated)" : "",
               ca_change.kind == CaChange::Kind::kStart   ? " (root CA rotation started)"
               : ca_change.kind == CaChange::Kind::kAbort ? " (root CA rotation aborted)"
                                                          : "");
  return absl::OkStatus();
}

}  // namespace capsule::controlapi
