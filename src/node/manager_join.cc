#include "node/manager_join.h"

#include <spdlog/spdlog.h>

#include "ca/node_key.h"
#include "common/file_read.h"
#include "crypto/node_seal.h"
#include "dockerapi/error_table.h"
#include "manager/membership/membership_service.h"
#include "node/certificates.h"
#include "transport/membership_client.h"

namespace capsule::node {
namespace {

constexpr std::chrono::seconds kAddTimeout{15};
constexpr std::chrono::seconds kPromoteTimeout{30};
constexpr std::chrono::seconds kAbortTimeout{5};

void Abort(transport::MembershipClient& client, uint64_t member_id, bool keep_node) {
  if (Status s = client.AbortJoin(member_id, kAbortTimeout, keep_node); !s.ok()) {
    spdlog::error(
        "rolling back the manager join failed ({}); the existing managers remove the "
        "unpromoted member themselves",
        s.ToString());
  }
}

}  // namespace

StatusOr<std::unique_ptr<Manager>> JoinAsManager(const ManagerConfig& config,
                                                 const SwarmState& state, bool promotion) {
  const CertificatePaths paths = CertificatesIn(config.data_root);
  ASSIGN_OR_RETURN(std::string root_ca_pem, ReadWholeFile(paths.root_ca));
  transport::ClientIdentity identity;
  ASSIGN_OR_RETURN(identity.cert_pem, ReadWholeFile(paths.cert));
  ASSIGN_OR_RETURN(identity.key_pem, ca::ReadNodeKeyFile(paths.key));
  transport::MembershipClient client(state.remote_manager, root_ca_pem, identity);

  crypto::DeliveryKeyPair keys = crypto::NewDeliveryKeyPair();
  StatusOr<transport::AddedMember> added =
      client.AddMember(PeerUrl(state), keys.public_key, kAddTimeout);
  if (!added.ok()) {
    if (!promotion) Abort(client, 0, false);  // the node object the CA made
    return dockerapi::RpcError(added.status());
  }
  StatusOr<SecretBytes> kek = crypto::OpenFromDispatcher(
      keys, membership::KekDeliveryAad(state.cluster_id, state.node_id), added->sealed_kek);
  if (!kek.ok()) {
    Abort(client, added->member_id, promotion);
    return absl::DataLossError("the swarm's key-encryption key did not open: " +
                               std::string(kek.status().message()));
  }
  spdlog::info("store member {:x} added as a learner; starting it with the existing cluster",
               added->member_id);
  Manager::JoinPlan plan;
  plan.initial_cluster = added->initial_cluster;
  plan.kek = *std::move(kek);
  const uint64_t member_id = added->member_id;
  plan.promote = [&client, member_id] { return client.PromoteMember(member_id, kPromoteTimeout); };
  plan.abort = [&client, member_id, promotion] { Abort(client, member_id, promotion); };
  plan.promotion = promotion;
  StatusOr<std::unique_ptr<Manager>> m = Manager::Join(config, state, std::move(plan));
  if (!m.ok()) return m.status();  // rolled back by Manager::Join
  spdlog::info("joined swarm {} as manager node {}", state.cluster_id, state.node_id);
  return m;
}

}  // namespace capsule::node
