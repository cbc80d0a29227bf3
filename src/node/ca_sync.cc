#include "node/ca_sync.h"

#include <spdlog/spdlog.h>

#include "ca/issuer_info.h"
#include "ca/node_key.h"
#include "common/clock.h"
#include "common/file_read.h"
#include "objects/objects.h"
#include "store/read_modify_write.h"

namespace capsule::node {

StatusOr<CaSyncResult> ApplyCaView(const CertificatePaths& paths, const CaView& view) {
  CaSyncResult out;
  if (!view.trust_root_pem.empty() && ReadFileOrEmpty(paths.root_ca) != view.trust_root_pem) {
    RETURN_IF_ERROR(ca::WriteCertFile(paths.root_ca, view.trust_root_pem));
    spdlog::info("root CA rotation: this node trusts the new root from now on");
    out.trust_changed = true;
  }
  if (!view.signing_root_pem.empty()) {
    const std::string cert = ReadFileOrEmpty(paths.cert);
    out.renew = !cert.empty() && !ca::SignedDirectlyBy(cert, view.signing_root_pem);
  }
  return out;
}

Status RecordNodeTlsInfo(store::Store& store, const store::ReadModel& reads,
                         const std::string& node_id, const caserver::NodeTlsInfo& info) {
  const auto same = [&info](const Node& n) {
    return n.tls_trust_root == info.trust_root_pem &&
           n.tls_issuer_subject == info.issuer_subject_b64 &&
           n.tls_issuer_public_key == info.issuer_public_key_b64;
  };
  store::NodeEntry known = reads.NodeById(node_id);
  if (!known || same(known->object)) return absl::OkStatus();
  StatusOr<int64_t> rev = store::UpdateLatest(
      store, kNodesKind, node_id, [&](store::StoredRecord& cur) -> StatusOr<store::Mutation> {
        ASSIGN_OR_RETURN(Node n, DecodeNodeMeta(cur.record.meta));
        if (same(n)) return store::Mutation::kKeep;
        n.tls_trust_root = info.trust_root_pem;
        n.tls_issuer_subject = info.issuer_subject_b64;
        n.tls_issuer_public_key = info.issuer_public_key_b64;
        cur.record.meta = EncodeNodeMeta(n);
        return store::Mutation::kWrite;
      });
  if (absl::IsNotFound(rev.status())) return absl::OkStatus();
  return rev.status();
}

}  // namespace capsule::node
