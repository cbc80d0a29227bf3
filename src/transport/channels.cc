#include "transport/channels.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>

namespace capsule::transport {
namespace {

grpc::ChannelArguments BaseArguments() {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(kManagerTlsName);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(16 << 20);
  return args;
}

}  // namespace

std::shared_ptr<grpc::Channel> NodeChannel(const std::string& addr, const std::string& root_ca_pem,
                                           const ClientIdentity* identity) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_ca_pem;
  if (identity != nullptr) {
    ssl.pem_cert_chain = identity->cert_pem;
    // gRPC keeps its own copy of the key; ours is wiped right after.
    ssl.pem_private_key = std::string(identity->key_pem.view());
  }
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::SslCredentials(ssl);
  WipeString(ssl.pem_private_key);
  return grpc::CreateCustomChannel(addr, creds, BaseArguments());
}

std::shared_ptr<grpc::Channel> BootstrapChannel(const std::string& addr) {
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_verify_server_certs(false);
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::CreateCustomChannel(addr, grpc::experimental::TlsCredentials(tls), BaseArguments());
}

}  // namespace capsule::transport
