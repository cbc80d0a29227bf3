#include "node/root_rotation_finisher.h"

#include <spdlog/spdlog.h>

#include "ca/issuer_info.h"
#include "manager/controlapi/root_rotation.h"
#include "store/read_modify_write.h"

namespace capsule::node {

bool RotationConverged(const Cluster& c, const std::vector<Node>& nodes) {
  if (c.rotation_cert_pem.empty()) return false;
  StatusOr<ca::IssuerInfo> wanted = ca::ReadIssuerInfo(c.rotation_cert_pem);
  if (!wanted.ok()) return false;
  for (const Node& n : nodes) {
    if (n.tls_issuer_public_key != wanted->public_key_b64) return false;
  }
  return true;
}

RootRotationFinisher::RootRotationFinisher(store::Store& store, const store::ReadModel& reads,
                                           const Clock& clock)
    : store_(store), reads_(reads), clock_(clock), loop_(clock) {}

RootRotationFinisher::~RootRotationFinisher() { Stop(); }

StatusOr<bool> RootRotationFinisher::Tick() {
  store::ClusterEntry e = reads_.GetCluster();
  if (!e || e->object.rotation_cert_pem.empty()) return false;
  std::vector<Node> nodes;
  for (const store::NodeEntry& n : reads_.Nodes()) nodes.push_back(n->object);
  if (!RotationConverged(e->object, nodes)) return false;
  const std::string old_root = e->object.root_ca_cert_pem;
  const std::string new_root = e->object.rotation_cert_pem;
  bool finished = false;
  StatusOr<int64_t> rev = store::UpdateLatest(
      store_, kClusterKind, e->object.id,
      [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        finished = false;
        ASSIGN_OR_RETURN(Cluster c, DecodeClusterMeta(cur.record.meta));
        if (c.rotation_cert_pem != new_root || c.root_ca_cert_pem != old_root) {
          return store::Mutation::kKeep;  // another rotation now: judged on a later pass
        }
        RETURN_IF_ERROR(controlapi::FinishRotation(&c));
        c.updated_at = clock_.Now();
        cur.record.meta = EncodeClusterMeta(c);
        finished = true;
        return store::Mutation::kWrite;
      });
  RETURN_IF_ERROR(rev.status());
  if (!finished) return false;
  spdlog::info("root CA rotation finished: every node holds a certificate of the new root");
  if (Status s = controlapi::DropRootCa(store_, old_root); !s.ok()) {
    spdlog::warn("root CA rotation: the old root's key was not deleted: {}", s.ToString());
  }
  return true;
}

void RootRotationFinisher::Start(std::chrono::milliseconds period) {
  loop_.Start(period, [this] {
    if (StatusOr<bool> r = Tick(); !r.ok()) {
      spdlog::warn("root rotation finisher: {}", r.status().ToString());
    }
  });
}

void RootRotationFinisher::Stop() { loop_.Stop(); }

}  // namespace capsule::node
