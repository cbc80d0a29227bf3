// The swarm port: a front (swarm_front.h) owns the listening socket and routes each
// connection by the TLS server name its client asks for to one of two gRPC servers:
//   - the authenticated server: every service, TLS with a node certificate served through a
//     file-watching certificate provider (a renewed certificate written over the files is
//     picked up within `cert_refresh_interval` without a restart), and a client certificate
//     required and verified against the swarm root
//     (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY): a client without one, or
//     with another CA's, fails the handshake before it can send a call;
//   - the join server: the join services only (NodeCA), the same server certificate, no
//     client certificate asked, reached only through the front's pump.
//
// What a hostile client can make the manager hold (issue 11 part 4; docs/architecture.md):
//   - without a certificate: nothing on the authenticated server (no handshake). On the join
//     server: only the join methods (CertlessGate, refused at the headers otherwise), admitted
//     at a bounded rate, each call's message within join_max_receive_message_bytes, and — the
//     bound that holds even though chttp2 buffers a whole request before checking its size
//     (grpc/grpc#43012) — at most FrontLimits::join_inbound_bytes per connection and
//     max_join_connections connections at once, each for at most join_max_age; the join
//     server has its own small memory quota and few threads;
//   - per connection: max_concurrent_streams, no BDP probing (a stream's window stays 64 KiB
//     until the server reads), closed after max_connection_idle without calls, the ClientHello
//     within FrontLimits::hello_timeout and the TLS handshake within handshake_timeout;
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
#include "transport/swarm_front.h"

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
  // Calls without a client certificate (certless_gate.h), on the join server.
  CertlessLimits certless;
  int join_max_receive_message_bytes = 64 << 10;
  int64_t join_memory_quota_bytes = 16 << 20;
  int join_max_threads = 8;
  int join_max_concurrent_streams = 4;  // per connection (a join makes one call on each)
  // The front: routing, and join connections' byte, age and count limits.
  FrontLimits front;
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
  // root), then binds and starts serving: `services` on the authenticated server,
  // `join_services` (sync services, may also be in `services`) on the join server. A bad
  // file → InvalidArgument/FailedPrecondition; bind failure → Unavailable.
  static StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options, const std::vector<grpc::Service*>& services,
      const std::vector<grpc::Service*>& join_services = {});

  ~GrpcServer();  // Stop()
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  int port() const { return front_->port(); }
  std::string addr() const;  // listen ip:bound port
  SwarmFront::Counts front_counts() const { return front_->counts(); }

  // Stops accepting connections and calls, waits up to `grace` for running calls, then
  // cancels the rest (open streams see CANCELLED) and waits for handlers to return.
  // Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(1000));

 private:
  struct Servers;  // grpc_server.cc
  GrpcServer(std::unique_ptr<Servers> servers, std::string host);
  std::unique_ptr<Servers> servers_;
  std::unique_ptr<SwarmFront> front_;
  std::string host_;
  std::once_flag stop_once_;
};

}  // namespace capsule::transport
