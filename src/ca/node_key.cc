#include "ca/node_key.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "ca/openssl_util.h"
#include "crypto/secure_file.h"

namespace capsule::ca {

using internal::OpenSslError;
using internal::Owned;

namespace {

constexpr size_t kMaxKeyFileSize = 64 * 1024;

StatusOr<std::string> MakeCsr(EVP_PKEY* key, const std::string& cn) {
  Owned<X509_REQ> req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_REQ_new");
  }
  if (!cn.empty()) {
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(cn.c_str()),
                                   static_cast<int>(cn.size()), -1, 0) != 1) {
      return OpenSslError(StatusCode::kInvalidArgument, "CSR common name");
    }
  }
  if (X509_REQ_set_pubkey(req.get(), key) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_REQ_set_pubkey");
  }
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) {
    return OpenSslError(StatusCode::kInternal, "X509_REQ_sign");
  }
  return internal::CsrToPem(req.get());
}

StatusOr<Owned<EVP_PKEY>> ParseNodeKey(const SecretBytes& key_pem) {
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, internal::ParsePrivateKeyPem(key_pem));
  if (!internal::IsP256(key.get())) {
    return absl::InvalidArgumentError("node key is not an ECDSA P-256 key");
  }
  return key;
}

}  // namespace

StatusOr<NodeKeyAndCsr> GenerateNodeKey(const std::string& csr_common_name) {
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, internal::GenerateP256Key());
  NodeKeyAndCsr out;
  ASSIGN_OR_RETURN(out.csr_pem, MakeCsr(key.get(), csr_common_name));
  ASSIGN_OR_RETURN(out.key_pem, internal::PrivateKeyToPem(key.get()));
  return out;
}

StatusOr<std::string> CsrForKey(const SecretBytes& key_pem, const std::string& csr_common_name) {
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, ParseNodeKey(key_pem));
  return MakeCsr(key.get(), csr_common_name);
}

Status KeyMatchesCert(const SecretBytes& key_pem, const std::string& cert_pem) {
  ASSIGN_OR_RETURN(Owned<EVP_PKEY> key, internal::ParsePrivateKeyPem(key_pem));
  ASSIGN_OR_RETURN(Owned<X509> cert, internal::ParseCertPem(cert_pem, "certificate"));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument, "key does not match certificate");
  }
  return absl::OkStatus();
}

Status WriteNodeKeyFile(const std::string& path, const SecretBytes& key_pem) {
  return crypto::WriteFileAtomic(path, key_pem.span(), 0600, /*replace=*/true);
}

StatusOr<SecretBytes> ReadNodeKeyFile(const std::string& path) {
  ASSIGN_OR_RETURN(SecretBytes pem, crypto::ReadPrivateFile(path, kMaxKeyFileSize));
  StatusOr<Owned<EVP_PKEY>> key = ParseNodeKey(pem);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", key.status().message()));
  }
  return pem;
}

Status WriteCertFile(const std::string& path, const std::string& cert_pem) {
  return crypto::WriteFileAtomic(
      path, {reinterpret_cast<const uint8_t*>(cert_pem.data()), cert_pem.size()}, 0644,
      /*replace=*/true);
}

}  // namespace capsule::ca
