#include "ca/signing_ca.h"

namespace capsule::ca {

SigningCa::SigningCa(RootCa root) {
  std::string pem = root.cert_pem();
  Set(std::move(pem), std::move(root), "");
}

void SigningCa::Set(std::string trust_root_pem, RootCa signer, std::string intermediate_pem) {
  auto shared = std::make_shared<const RootCa>(std::move(signer));
  MutexLock lock(mu_);
  state_ = {std::move(trust_root_pem), std::move(shared), std::move(intermediate_pem)};
}

SigningCa::State SigningCa::Current() const {
  MutexLock lock(mu_);
  return state_;
}

std::string SigningCa::trust_root_pem() const { return Current().trust_root_pem; }

std::string SigningCa::signing_root_pem() const { return Current().signer->cert_pem(); }

std::string SigningCa::trusted_bundle_pem() const {
  State s = Current();
  if (s.intermediate_pem.empty()) return s.trust_root_pem;
  return s.trust_root_pem + s.signer->cert_pem();
}

bool SigningCa::rotating() const { return !Current().intermediate_pem.empty(); }

StatusOr<std::string> SigningCa::Sign(const NodeCertRequest& req, TimePoint now) const {
  State s = Current();
  ASSIGN_OR_RETURN(std::string leaf, s.signer->Sign(req, now));
  return leaf + s.intermediate_pem;
}

}  // namespace capsule::ca
