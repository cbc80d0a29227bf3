// The swarm port's gRPC server: TLS with a node certificate served through a file-watching
// certificate provider (a renewed certificate written over the files is picked up within
// `cert_refresh_interval` without a restart), and client certificates requested and verified
// against the swarm root when given (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY). A
// client without a certificate completes the handshake; ca::Authorizer refuses it on every
// call except the two NodeCA join calls. A client certificate that does not chain to the
// root fails the handshake.
//
// What a hostile client can make the server hold (issue 11 part 4; docs/architecture.md):
//   - cert-less calls: only the join methods, refused at the headers otherwise, and admitted
//     at a bounded rate (CertlessGate, before the request message is read);
//   - a call's request: max_receive_message_bytes. gRPC C++ has one receive limit per server,
//     not per peer, and a per-method limit from a service config is not applied by this
//     server (tried: a 15 MiB join request reached the handler); chttp2 also buffers a whole
//     request before checking its size (grpc/grpc#43012): it opens the stream's window to the
//     length the message declares, so even a 64 KiB limit would not bound what is buffered
//     (measured, docs/performance.md) — the limit only bounds what is parsed. So the bound on
//     what admitted calls can make the server hold is the rate above and the memory quota
//     below (it resets a stream near 128 MiB held);
//   - per connection: max_concurrent_streams, no BDP probing (a stream's window stays 64 KiB
//     until the server reads), closed after max_connection_idle without calls, the TLS
//     handshake within handshake_timeout;
//   - overall: a grpc::ResourceQuota of memory_quota_bytes (under pressure gRPC shrinks its
//     windows and read buffers and cancels streams to give memory back) and max_threads
//     handler threads.
//
// Services are owned by the caller and must outlive the server. Thread-safe.
#pragma once

#include <grpcpp/server.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "transport/certless_gate.h"

namespace capsule::transport {

// Where the server's TLS material lives (<data-root>/swarm/certificates/). The key file must
// be mode 0600. Replace files atomically (rename) when rotating; keep the key when renewing
// (ca::CsrForKey) so a refresh never sees a key and certificate that do not match.
struct ServerTlsFiles {
  std::string cert_path;     // this node's certificate (PEM)
  std::string key_path;      // its private key (PEM, 0600)
  std::string root_ca_path;  // the swarm root CA (PEM): client certificates must chain to it
};

struct GrpcServerOptions {
  std::string listen_addr;  // "ip:port"; port 0 picks a free port (see GrpcServer::port)
  ServerTlsFiles tls;
  std::chrono::seconds cert_refresh_interval{60};  // gRPC's minimum is 1 s
  int max_receive_message_bytes = 16 << 20;
  // Calls without a client certificate (certless_gate.h).
  CertlessLimits certless;
  // The whole server.
  int64_t memory_quota_bytes = 128 << 20;
  int max_threads = 64;
  int max_concurrent_streams = 100;  // per connection
  std::chrono::milliseconds max_connection_idle{std::chrono::seconds(30)};
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
};

class GrpcServer {
 public:
  // Checks the TLS files (key 0600 and matching the certificate, certificate chaining to the
  // root), then binds and starts serving. A bad file → InvalidArgument/FailedPrecondition;
  // bind failure → Unavailable.
  static StatusOr<std::unique_ptr<GrpcServer>> Start(const GrpcServerOptions& options,
                                                     const std::vector<grpc::Service*>& services);

  ~GrpcServer();  // Stop()
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  int port() const { return port_; }
  std::string addr() const;  // listen ip:bound port

  // Stops accepting calls, waits up to `grace` for running calls, then cancels the rest
  // (open streams see CANCELLED) and waits for handlers to return. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1000));

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, std::string host, int port);
  std::unique_ptr<grpc::Server> server_;
  std::string host_;
  int port_;
  std::once_flag stop_once_;
};

}  // namespace capsule::transport
