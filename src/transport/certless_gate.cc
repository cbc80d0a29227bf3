#include "transport/certless_gate.h"

#include <grpc/grpc_security_constants.h>

#include <algorithm>
#include <chrono>

namespace capsule::transport {

CertlessGate::CertlessGate(CertlessLimits limits, const Clock& clock)
    : limits_(std::move(limits)),
      clock_(clock),
      tokens_(limits_.burst),
      refilled_(clock.SteadyNow()) {}

bool CertlessGate::TakeCertlessToken() {
  SteadyTime now = clock_.SteadyNow();
  MutexLock lock(mu_);
  double seconds = std::chrono::duration<double>(now - refilled_).count();
  if (seconds > 0) tokens_ = std::min(limits_.burst, tokens_ + seconds * limits_.per_second);
  refilled_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

grpc::Status CertlessGate::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                                   OutputMetadata* /*consumed_auth_metadata*/,
                                   OutputMetadata* /*response_metadata*/) {
  if (context != nullptr &&
      !context->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME).empty()) {
    return grpc::Status::OK;  // the TLS layer verified a client certificate
  }
  auto path = auth_metadata.find(":path");
  std::string method =
      path == auth_metadata.end() ? "" : std::string(path->second.data(), path->second.size());
  if (limits_.allowed_methods.count(method) == 0) {
    ++refused_method_;
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "this call needs a node certificate of this swarm");
  }
  if (!TakeCertlessToken()) {
    ++refused_rate_;
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, kCertlessBusyMessage);
  }
  ++admitted_;
  return grpc::Status::OK;
}

CertlessGate::Counts CertlessGate::counts() const {
  return {admitted_.load(), refused_method_.load(), refused_rate_.load()};
}

}  // namespace capsule::transport
