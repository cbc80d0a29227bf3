// The swarm port's first look at every call, made when the call's headers arrive and before
// its request message is read: a grpc::AuthMetadataProcessor, which gRPC's server auth
// filter runs on the initial metadata; the server asks the transport for the request message
// only after it has said yes. A refused call is failed there, so its message is never
// assembled: at most one HTTP/2 stream window of it (64 KiB) reaches the server.
//
// A peer that presented no client certificate (a node that is joining, a stranger) may call
// only `allowed_methods` (NodeCA.GetRootCACertificate and IssueNodeCertificate); any other
// method → UNAUTHENTICATED "this call needs a node certificate of this swarm", the message
// ca::Authorizer gives. Cert-less calls to the allowed methods are admitted at most
// `per_second` a second (burst `burst`) over all peers → else RESOURCE_EXHAUSTED. Peers with
// a certificate the TLS layer verified pass untouched (ca::Authorizer still checks them in
// each handler). What an admitted call sends is not bounded here: gRPC reads its whole
// request before the size check (grpc/grpc#43012); the swarm front's byte budget per join
// connection bounds it (swarm_front.h). The gate runs on the join server, where every peer is
// cert-less (the authenticated server requires a certificate at the handshake).
//
// Thread-safe (gRPC calls Process from its own threads, concurrently).
#pragma once

#include <grpcpp/security/auth_metadata_processor.h>

#include <atomic>
#include <set>
#include <string>

#include "common/clock.h"
#include "common/mutex.h"

namespace capsule::transport {

// The calls a node makes before it has a certificate (api/capsule/ca.proto).
inline const std::set<std::string>& JoinMethods() {
  static const auto* methods = new std::set<std::string>{
      "/capsule.api.NodeCA/GetRootCACertificate", "/capsule.api.NodeCA/IssueNodeCertificate"};
  return *methods;
}

// The RESOURCE_EXHAUSTED message of a cert-less call refused for the rate (join_client.h
// retries on it).
inline constexpr char kCertlessBusyMessage[] =
    "too many calls without a certificate; try again later";

struct CertlessLimits {
  // Full method paths, "/package.Service/Method".
  std::set<std::string> allowed_methods = JoinMethods();
  // How many join calls strangers can start; what each may send is bounded by the front.
  // A join makes two calls. 64 a second lets 200 nodes join in ~6 s (at 8 a second, before
  // the front bounded what each call may send, it took 50 s). What admitted calls may hold at
  // once is bounded by the front (32 connections × 128 KiB), not by this rate.
  double burst = 64;       // cert-less calls admitted at once
  double per_second = 64;  // and then per second (joins retry when refused)
};

class CertlessGate final : public grpc::AuthMetadataProcessor {
 public:
  // `clock` must outlive the gate.
  CertlessGate(CertlessLimits limits, const Clock& clock);

  bool IsBlocking() const override { return false; }  // cheap: runs on gRPC's thread
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // What the gate decided so far (for tests and logs).
  struct Counts {
    uint64_t admitted_certless = 0;
    uint64_t refused_method = 0;
    uint64_t refused_rate = 0;
  };
  Counts counts() const;

 private:
  bool TakeCertlessToken();

  const CertlessLimits limits_;
  const Clock& clock_;
  Mutex mu_;
  double tokens_ ABSL_GUARDED_BY(mu_);
  SteadyTime refilled_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> admitted_{0}, refused_method_{0}, refused_rate_{0};
};

}  // namespace capsule::transport
