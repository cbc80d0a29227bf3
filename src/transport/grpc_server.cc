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

}  // namespace

StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerOptions& options, const std::vector<grpc::Service*>& services) {
  RETURN_IF_ERROR(CheckTlsFiles(options.tls));
  unsigned refresh =
      static_cast<unsigned>(std::max<int64_t>(1, options.cert_refresh_interval.count()));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.tls.key_path, options.tls.cert_path, options.tls.root_ca_path, refresh);
  grpc::experimental::TlsServerCredentialsOptions tls_options(provider);
  tls_options.watch_root_certs();
  tls_options.watch_identity_key_cert_pairs();
  tls_options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  std::shared_ptr<grpc::ServerCredentials> creds =
      grpc::experimental::TlsServerCredentials(tls_options);
  if (creds == nullptr) return absl::InternalError("cannot create TLS server credentials");
  creds->SetAuthMetadataProcessor(std::make_shared<CertlessGate>(options.certless, RealClock()));

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen_addr, creds, &port);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  grpc::ResourceQuota quota("capsule-swarm-port");
  quota.Resize(static_cast<size_t>(options.memory_quota_bytes));
  quota.SetMaxThreads(options.max_threads);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
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
  for (grpc::Service* service : services) builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_addr));
  }
  return std::unique_ptr<GrpcServer>(
      new GrpcServer(std::move(server), HostPart(options.listen_addr), port));
}

GrpcServer::GrpcServer(std::unique_ptr<grpc::Server> server, std::string host, int port)
    : server_(std::move(server)), host_(std::move(host)), port_(port) {}

GrpcServer::~GrpcServer() { Stop(); }

std::string GrpcServer::addr() const { return absl::StrCat(host_, ":", port_); }

void GrpcServer::Stop(std::chrono::milliseconds grace) {
  std::call_once(stop_once_, [&] {
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
  });
}

}  // namespace capsule::transport
