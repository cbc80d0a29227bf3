#include "ca/root_ca.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "ca/openssl_util.h"
#include "common/ids.h"

namespace capsule::ca {

using internal::OpenSslError;
using internal::Owned;

struct RootCa::State {
  Owned<EVP_PKEY> key;
  Owned<X509> cert;
  std::string cert_pem;
  std::mutex sign_mu;  // EVP_PKEY signing is not documented as safe for concurrent use
};

namespace {

bool IsValidClusterId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool IsIpLiteral(const std::string& ip) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, ip.c_str(), buf) == 1 || inet_pton(AF_INET6, ip.c_str(), buf) == 1;
}

Status AddNameEntry(X509_NAME* name, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.c_str()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return OpenSslError(StatusCode::kInternal, absl::StrCat("set subject ", field));
  }
  return absl::OkStatus();
}

}  // namespace

RootCa::RootCa(std::unique_ptr<State> state) : state_(std::move(state)) {}
RootCa::RootCa(RootCa&&) noexcept = default;
RootCa& RootCa::operator=(RootCa&&) noexcept = default;
RootCa::~RootCa() = default;

StatusOr<RootCa> RootCa::Generate() { return Generate(std::chrono::system_clock::now()); }

StatusOr<RootCa> RootCa::Generate(TimePoint now) {
  auto state = std::make_unique<State>();
  ASSIGN_OR_RETURN(state->key, internal::GenerateP256Key());
  state->cert.reset(X509_new());
  X509* cert = state->cert.get();
  if (cert == nullptr || X509_set_version(cert, X509_VERSION_3) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_new");
  }
  RETURN_IF_ERROR(internal::SetRandomSerial(cert));
  X509_NAME* name = X509_get_subject_name(cert);
  RETURN_IF_ERROR(AddNameEntry(name, "CN", kRootCommonName));
  if (X509_set_issuer_name(cert, name) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_set_issuer_name");
  }
  RETURN_IF_ERROR(internal::SetAsn1Time(X509_getm_notBefore(cert), now - kBackdate));
  RETURN_IF_ERROR(internal::SetAsn1Time(X509_getm_notAfter(cert), now + kRootValidity));
  if (X509_set_pubkey(cert, state->key.get()) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_set_pubkey");
  }
  RETURN_IF_ERROR(internal::AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(
      internal::AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(internal::AddExtension(cert, cert, NID_subject_key_identifier, "hash"));
  if (X509_sign(cert, state->key.get(), EVP_sha256()) <= 0) {
    return OpenSslError(StatusCode::kInternal, "X509_sign");
  }
  ASSIGN_OR_RETURN(state->cert_pem, internal::CertToPem(cert));
  return RootCa(std::move(state));
}

StatusOr<RootCa> RootCa::FromPem(const std::string& cert_pem, const SecretBytes& key_pem) {
  auto state = std::make_unique<State>();
  ASSIGN_OR_RETURN(state->cert, internal::ParseCertPem(cert_pem, "root CA certificate"));
  ASSIGN_OR_RETURN(state->key, internal::ParsePrivateKeyPem(key_pem));
  if (X509_check_private_key(state->cert.get(), state->key.get()) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument,
                        "root CA key does not match the root CA certificate");
  }
  if (X509_check_ca(state->cert.get()) == 0) {
    return absl::InvalidArgumentError("root CA certificate is not a CA certificate");
  }
  ASSIGN_OR_RETURN(state->cert_pem, internal::CertToPem(state->cert.get()));
  return RootCa(std::move(state));
}

const std::string& RootCa::cert_pem() const { return state_->cert_pem; }

StatusOr<SecretBytes> RootCa::KeyPem() const {
  std::lock_guard lock(state_->sign_mu);
  return internal::PrivateKeyToPem(state_->key.get());
}

std::string RootCa::Digest() const {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(state_->cert_pem.data(), state_->cert_pem.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

StatusOr<TimePoint> RootCa::NotAfter() const {
  return internal::FromAsn1Time(X509_get0_notAfter(state_->cert.get()));
}

StatusOr<std::string> RootCa::Sign(const NodeCertRequest& req) const {
  return Sign(req, std::chrono::system_clock::now());
}

StatusOr<std::string> RootCa::Sign(const NodeCertRequest& req, TimePoint now) const {
  if (!IsValidId(req.node_id)) return absl::InvalidArgumentError("invalid node ID");
  if (!IsValidClusterId(req.cluster_id)) return absl::InvalidArgumentError("invalid cluster ID");
  if (req.validity <= std::chrono::seconds(0)) {
    return absl::InvalidArgumentError("certificate validity must be positive");
  }
  for (const std::string& ip : req.ip_sans) {
    if (!IsIpLiteral(ip)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid IP address \"", ip, "\""));
    }
  }
  ASSIGN_OR_RETURN(Owned<X509_REQ> csr, internal::ParseCsrPem(req.csr_pem));
  EVP_PKEY* pub = X509_REQ_get0_pubkey(csr.get());
  if (!internal::IsP256(pub)) return absl::InvalidArgumentError("CSR key is not ECDSA P-256");
  if (X509_REQ_verify(csr.get(), pub) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument, "CSR signature does not verify");
  }

  X509* issuer = state_->cert.get();
  Owned<X509> owned(X509_new());
  X509* cert = owned.get();
  if (cert == nullptr || X509_set_version(cert, X509_VERSION_3) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_new");
  }
  RETURN_IF_ERROR(internal::SetRandomSerial(cert));
  X509_NAME* name = X509_get_subject_name(cert);
  RETURN_IF_ERROR(AddNameEntry(name, "O", req.cluster_id));
  RETURN_IF_ERROR(AddNameEntry(name, "OU", RoleName(req.role)));
  RETURN_IF_ERROR(AddNameEntry(name, "CN", req.node_id));
  if (X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_set_issuer_name");
  }
  ASSIGN_OR_RETURN(TimePoint root_not_after, internal::FromAsn1Time(X509_get0_notAfter(issuer)));
  TimePoint not_after = std::min<TimePoint>(now + req.validity, root_not_after);
  RETURN_IF_ERROR(internal::SetAsn1Time(X509_getm_notBefore(cert), now - kBackdate));
  RETURN_IF_ERROR(internal::SetAsn1Time(X509_getm_notAfter(cert), not_after));
  if (X509_set_pubkey(cert, pub) != 1)
    return OpenSslError(StatusCode::kInternal, "X509_set_pubkey");

  std::string san = absl::StrCat("DNS:", RoleName(req.role), ",DNS:", req.node_id);
  for (const std::string& ip : req.ip_sans) absl::StrAppend(&san, ",IP:", ip);
  RETURN_IF_ERROR(internal::AddExtension(issuer, cert, NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(internal::AddExtension(issuer, cert, NID_key_usage,
                                         "critical,digitalSignature,keyEncipherment"));
  RETURN_IF_ERROR(internal::AddExtension(issuer, cert, NID_ext_key_usage, "serverAuth,clientAuth"));
  RETURN_IF_ERROR(internal::AddExtension(issuer, cert, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(
      internal::AddExtension(issuer, cert, NID_authority_key_identifier, "keyid:always"));
  RETURN_IF_ERROR(internal::AddExtension(issuer, cert, NID_subject_alt_name, san));
  {
    std::lock_guard lock(state_->sign_mu);
    if (X509_sign(cert, state_->key.get(), EVP_sha256()) <= 0) {
      return OpenSslError(StatusCode::kInternal, "X509_sign");
    }
  }
  return internal::CertToPem(cert);
}

StatusOr<std::string> RootCa::CrossSign(std::string_view other_root_pem, TimePoint now) const {
  ASSIGN_OR_RETURN(Owned<X509> other,
                   internal::ParseCertPem(other_root_pem, "root CA certificate"));
  if (X509_check_ca(other.get()) == 0) {
    return absl::InvalidArgumentError("root CA certificate is not a CA certificate");
  }
  X509* issuer = state_->cert.get();
  Owned<X509> owned(X509_new());
  X509* cert = owned.get();
  if (cert == nullptr || X509_set_version(cert, X509_VERSION_3) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_new");
  }
  RETURN_IF_ERROR(internal::SetRandomSerial(cert));
  if (X509_set_subject_name(cert, X509_get_subject_name(other.get())) != 1 ||
      X509_set_issuer_name(cert, X509_get_subject_name(issuer)) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_set_subject_name");
  }
  ASSIGN_OR_RETURN(TimePoint other_end, internal::FromAsn1Time(X509_get0_notAfter(other.get())));
  ASSIGN_OR_RETURN(TimePoint issuer_end, internal::FromAsn1Time(X509_get0_notAfter(issuer)));
  RETURN_IF_ERROR(internal::SetAsn1Time(X509_getm_notBefore(cert), now - kBackdate));
  RETURN_IF_ERROR(internal::SetAsn1Time(X509_getm_notAfter(cert), std::min(other_end, issuer_end)));
  if (X509_set_pubkey(cert, X509_get0_pubkey(other.get())) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_set_pubkey");
  }
  RETURN_IF_ERROR(internal::AddExtension(issuer, cert, NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(
      internal::AddExtension(issuer, cert, NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(internal::AddExtension(issuer, cert, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(
      internal::AddExtension(issuer, cert, NID_authority_key_identifier, "keyid:always"));
  {
    std::lock_guard lock(state_->sign_mu);
    if (X509_sign(cert, state_->key.get(), EVP_sha256()) <= 0) {
      return OpenSslError(StatusCode::kInternal, "X509_sign");
    }
  }
  return internal::CertToPem(cert);
}

}  // namespace capsule::ca
