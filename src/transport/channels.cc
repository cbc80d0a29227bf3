#include "transport/channels.h"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/channel_arguments.h>

namespace capsule::transport {
namespace {

grpc::ChannelArguments BaseArguments(const char* tls_name) {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(tls_name);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(16 << 20);
  return args;
}

// A joining node asks for kJoinTlsName (so the front routes it to the join server) but must
// still be talking to a manager: gRPC has verified the chain against the pinned root; this
// checks the manager's DNS SAN, which gRPC's host-name check would have compared with the
// name asked for.
class ManagerSanVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    for (const grpc::string_ref& name : request->dns_names()) {
      if (std::string_view(name.data(), name.size()) == kManagerTlsName) {
        *sync_status = grpc::Status::OK;
        return true;
      }
    }
    *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                "the server's certificate is not a swarm manager's");
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest* /*request*/) override {}
};

std::shared_ptr<grpc::Channel> JoinChannel(const std::string& addr,
                                           const std::string& root_ca_pem) {
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(
      std::make_shared<grpc::experimental::StaticDataCertificateProvider>(root_ca_pem));
  tls.watch_root_certs();
  tls.set_verify_server_certs(true);
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<ManagerSanVerifier>());
  return grpc::CreateCustomChannel(addr, grpc::experimental::TlsCredentials(tls),
                                   BaseArguments(kJoinTlsName));
}

}  // namespace

std::shared_ptr<grpc::Channel> NodeChannel(const std::string& addr, const std::string& root_ca_pem,
                                           const ClientIdentity* identity) {
  if (identity == nullptr) return JoinChannel(addr, root_ca_pem);
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_ca_pem;
  ssl.pem_cert_chain = identity->cert_pem;
  // gRPC keeps its own copy of the key; ours is wiped right after.
  ssl.pem_private_key = std::string(identity->key_pem.view());
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::SslCredentials(ssl);
  WipeString(ssl.pem_private_key);
  return grpc::CreateCustomChannel(addr, creds, BaseArguments(kManagerTlsName));
}

std::shared_ptr<grpc::Channel> BootstrapChannel(const std::string& addr) {
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_verify_server_certs(false);
  tls.set_check_call_host(false);
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  return grpc::CreateCustomChannel(addr, grpc::experimental::TlsCredentials(tls),
                                   BaseArguments(kJoinTlsName));
}

}  // namespace capsule::transport
