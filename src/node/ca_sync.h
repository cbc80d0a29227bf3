// A node's side of a root rotation (docs/ca-rotation.md), the same on workers and managers.
// Every certificate check period the node learns the cluster's trust root and signing root
// (a worker through NodeCA.SyncTLS, a manager from its own SwarmServer) and:
//   - writes a changed trust root into swarm-root-ca.crt (the gRPC server re-reads it; the
//     agent's session pins it from the next connection on);
//   - renews its certificate at once when the signing root did not sign it (CertRenewer's
//     forced check).
// RecordNodeTlsInfo keeps a node's report as its Description.TLSInfo (written only when it
// changed); the leader's RootRotationFinisher reads it.
#pragma once

#include <string>

#include "common/status.h"
#include "manager/caserver/ca_interfaces.h"
#include "node/certificates.h"
#include "store/read_model.h"
#include "store/store.h"

namespace capsule::node {

struct CaView {
  std::string trust_root_pem;
  std::string signing_root_pem;
};

struct CaSyncResult {
  bool trust_changed = false;  // the root file was rewritten with view.trust_root_pem
  bool renew = false;          // the certificate on disk is not from view.signing_root_pem
};

// Applies `view` to the files in `paths` (see the file comment). Empty view fields change
// nothing.
StatusOr<CaSyncResult> ApplyCaView(const CertificatePaths& paths, const CaView& view);

// Writes `info` into the node object when it differs from what the read model holds.
// A node that is gone: OK, nothing written.
Status RecordNodeTlsInfo(store::Store& store, const store::ReadModel& reads,
                         const std::string& node_id, const caserver::NodeTlsInfo& info);

}  // namespace capsule::node
