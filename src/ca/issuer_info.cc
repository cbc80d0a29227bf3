#include "ca/issuer_info.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <vector>

#include "ca/openssl_util.h"

namespace capsule::ca {
using internal::Owned;
using internal::ParseCertPem;

namespace {

std::string Base64(const unsigned char* der, int len) {
  std::vector<unsigned char> out(4 * ((static_cast<size_t>(len) + 2) / 3) + 1);
  int n = EVP_EncodeBlock(out.data(), der, len);
  return std::string(reinterpret_cast<const char*>(out.data()), static_cast<size_t>(n));
}

template <typename T, typename F>
StatusOr<std::string> DerBase64(T* obj, F i2d) {
  unsigned char* der = nullptr;
  int len = i2d(obj, &der);
  if (len <= 0) return absl::InternalError("DER encoding failed");
  std::string b64 = Base64(der, len);
  OPENSSL_free(der);
  return b64;
}

}  // namespace

StatusOr<IssuerInfo> ReadIssuerInfo(std::string_view cert_pem) {
  ASSIGN_OR_RETURN(Owned<X509> cert, ParseCertPem(cert_pem, "root CA certificate"));
  IssuerInfo info;
  ASSIGN_OR_RETURN(info.subject_b64, DerBase64(X509_get_subject_name(cert.get()), i2d_X509_NAME));
  ASSIGN_OR_RETURN(info.public_key_b64,
                   DerBase64(X509_get_X509_PUBKEY(cert.get()), i2d_X509_PUBKEY));
  return info;
}

}  // namespace capsule::ca
