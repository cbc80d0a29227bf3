// The cluster CA as a manager uses it at one moment (swarmkit's RootCA with its rotation):
//   trust root  the root every node trusts (TLSInfo.TrustRoot); during a root rotation still
//               the old root, afterwards the new one
//   signer      the root whose key signs node certificates: the trust root, or during a
//               rotation the new root
//   intermediate during a rotation, the new root cross-signed by the old one
//               (RootCa::CrossSign); appended after every leaf it signs, so a peer that trusts
//               only the old root accepts the new certificates
// Set() swaps all three at once when the cluster's CA changes (rotation started or done).
// Thread-safe: Sign() may run concurrently with Set().
#pragma once

#include <memory>
#include <string>

#include "ca/root_ca.h"
#include "common/mutex.h"
#include "common/status.h"

namespace capsule::ca {

class SigningCa {
 public:
  // Not rotating: `root` is trust root and signer.
  explicit SigningCa(RootCa root);

  // A rotation (intermediate_pem non-empty: signer is the new root, trust_root_pem the old)
  // or its end / no rotation (intermediate_pem empty: signer.cert_pem() is the trust root).
  void Set(std::string trust_root_pem, RootCa signer, std::string intermediate_pem);

  std::string trust_root_pem() const;
  std::string signing_root_pem() const;
  // The roots a peer certificate may chain to now: the trust root, and the new root while a
  // rotation runs (the Authorizer's bundle).
  std::string trusted_bundle_pem() const;
  bool rotating() const;

  // A node certificate from the signer, followed by the intermediate during a rotation.
  StatusOr<std::string> Sign(const NodeCertRequest& req, TimePoint now) const;

 private:
  struct State {
    std::string trust_root_pem;
    std::shared_ptr<const RootCa> signer;
    std::string intermediate_pem;
  };
  State Current() const;

  mutable Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace capsule::ca
