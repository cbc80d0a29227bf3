#include "transport/grpc_server.h"

#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_builder.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "ca/cert_info.h"
#include "ca/node_key.h"
#include "common/clock.h"
#include "common/file_read.h"

namespace capsule::transport {
namespace {

Status CheckTlsFiles(const ServerTlsFiles& tls) {
  ASSIGN_OR_RETURN(std::string cert, ReadWholeFile(tls.cert_path));
  ASSIGN_OR_RETURN(std::string root, ReadWholeFile(tls.root_ca_path));
  ASSIGN_OR_RETURN(SecretBytes key, ca::ReadNodeKeyFile(tls.key_path));
  RETURN_IF_ERROR(ca::KeyMatchesCert(key, cert));
  return ca::VerifyNodeCert(cert, root, std::chrono::system_clock::now());
}

// "1.2.3.4:5" → host "1.2.3.4"; "[::1]:5" → "[::1]".
std::string HostPart(const std::string& addr) {
  size_t colon = addr.rfind(':');
  return colon == std::string::npos ? addr : addr.substr(0, colon);
}

// The TLS credentials of one of the two servers: the node's certificate from its files
// (refreshed), client certificates required and verified, or not asked for.
std::shared_ptr<grpc::ServerCredentials> Credentials(
    const GrpcServerOptions& options, grpc_ssl_client_certificate_request_type request) {
  unsigned refresh =
      static_cast<unsigned>(std::max<int64_t>(1, options.cert_refresh_interval.count()));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.tls.key_path, options.tls.cert_path, options.tls.root_ca_path, refresh);
  grpc::experimental::TlsServerCredentialsOptions tls_options(provider);
  tls_options.watch_root_certs();
  tls_options.watch_identity_key_cert_pairs();
  tls_options.set_cert_request_type(request);
  return grpc::experimental::TlsServerCredentials(tls_options);
}

// What both servers share: no listening port of their own (the front hands them
// connections), limits per connection, keepalive.
void CommonArguments(const GrpcServerOptions& options, int max_concurrent_streams,
                     grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, max_concurrent_streams);
  // No BDP probing: the stream window a client may fill before the server reads (and before
  // CertlessGate refuses a call) stays at HTTP/2's 64 KiB instead of growing to megabytes.
  // Requests to a manager are small; its large messages are the ones it sends.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                             static_cast<int>(options.max_connection_idle.count()));
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS,
                             static_cast<int>(options.handshake_timeout.count()));
  // Dead peers are noticed by TCP keepalive-like pings; idle sessions are legitimate.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
}

using Acceptor = grpc::experimental::ExternalConnectionAcceptor;
using grpc::ServerBuilder;

}  // namespace

struct GrpcServer::Servers {
  std::unique_ptr<grpc::Server> authenticated, join;
  std::unique_ptr<Acceptor> authenticated_acceptor, join_acceptor;
};

namespace {

// What sets one of the two servers apart.
struct ServerShape {
  const char* quota_name;
  grpc_ssl_client_certificate_request_type client_certificates;
  int max_receive_message_bytes;
  int64_t memory_quota_bytes;
  int max_threads;
  int max_concurrent_streams;
  std::shared_ptr<grpc::AuthMetadataProcessor> gate;  // may be null
};

// Builds and starts a server that takes its connections from `acceptor` (no port of its own).
Status StartServer(const GrpcServerOptions& options, const ServerShape& shape,
                   const std::vector<grpc::Service*>& services,
                   std::unique_ptr<grpc::Server>* server, std::unique_ptr<Acceptor>* acceptor) {
  std::shared_ptr<grpc::ServerCredentials> creds = Credentials(options, shape.client_certificates);
  if (creds == nullptr) return absl::InternalError("cannot create TLS server credentials");
  if (shape.gate) creds->SetAuthMetadataProcessor(shape.gate);
  ServerBuilder builder;
  *acceptor = builder.experimental().AddExternalConnectionAcceptor(
      ServerBuilder::experimental_type::ExternalConnectionType::FROM_FD, creds);
  builder.SetMaxReceiveMessageSize(shape.max_receive_message_bytes);
  grpc::ResourceQuota quota(shape.quota_name);
  quota.Resize(static_cast<size_t>(shape.memory_quota_bytes));
  quota.SetMaxThreads(shape.max_threads);
  builder.SetResourceQuota(quota);
  CommonArguments(options, shape.max_concurrent_streams, builder);
  for (grpc::Service* service : services) builder.RegisterService(service);
  *server = builder.BuildAndStart();
  if (*server == nullptr) {
    return absl::InternalError(absl::StrCat("cannot start the gRPC server ", shape.quota_name));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, const std::vector<grpc::Service*>& services,
    const std::vector<grpc::Service*>& join_services) {
  RETURN_IF_ERROR(CheckTlsFiles(options.tls));
  auto servers = std::make_unique<Servers>();

  // Every service; a client certificate of the swarm required at the handshake.
  RETURN_IF_ERROR(
      StartServer(options,
                  {"capsule-swarm-port", GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY,
                   options.max_receive_message_bytes, options.memory_quota_bytes,
                   options.max_threads, options.max_concurrent_streams, nullptr},
                  services, &servers->authenticated, &servers->authenticated_acceptor));
  // The join services for cert-less callers, reached only through the front's pump. None (a
  // server for managers only): the front closes join connections.
  if (!join_services.empty()) {
    RETURN_IF_ERROR(
        StartServer(options,
                    {"capsule-swarm-port-join", GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
                     options.join_max_receive_message_bytes, options.join_memory_quota_bytes,
                     options.join_max_threads, options.join_max_concurrent_streams,
                     std::make_shared<CertlessGate>(options.certless, RealClock())},
                    join_services, &servers->join, &servers->join_acceptor));
  }

  FrontSinks sinks;
  Servers* raw = servers.get();
  sinks.authenticated = [raw](int fd, std::string already_read) {
    Acceptor::NewConnectionParameters p;
    p.fd = fd;
    if (!already_read.empty()) {
      grpc::Slice slice(already_read);
      p.read_buffer = grpc::ByteBuffer(&slice, 1);
    }
    raw->authenticated_acceptor->HandleNewConnection(&p);
  };
  sinks.join = [raw](int fd) {
    if (raw->join_acceptor == nullptr) {
      close(fd);
      return;
    }
    Acceptor::NewConnectionParameters p;
    p.fd = fd;
    raw->join_acceptor->HandleNewConnection(&p);
  };
  StatusOr<std::unique_ptr<SwarmFront>> front =
      SwarmFront::Start(options.listen_addr, options.front, std::move(sinks), RealClock());
  if (!front.ok()) {
    servers->authenticated->Shutdown();
    if (servers->join) servers->join->Shutdown();
    return front.status();
  }
  std::unique_ptr<GrpcServer> server(
      new GrpcServer(std::move(servers), HostPart(options.listen_addr)));
  server->front_ = *std::move(front);
  return server;
}

GrpcServer::GrpcServer(std::unique_ptr<Servers> servers, std::string host)
    : servers_(std::move(servers)), host_(std::move(host)) {}

GrpcServer::~GrpcServer() { Stop(); }

std::string GrpcServer::addr() const { return absl::StrCat(host_, ":", port()); }

void GrpcServer::Stop(std::chrono::milliseconds grace) {
  std::call_once(stop_once_, [&] {
    front_->Stop();  // no new connections; the pumped joins are closed
    auto deadline = std::chrono::system_clock::now() + grace;
    if (servers_->join) servers_->join->Shutdown(deadline);
    servers_->authenticated->Shutdown(deadline);
    if (servers_->join) servers_->join->Wait();
    servers_->authenticated->Wait();
  });
}

}  // namespace capsule::transport
