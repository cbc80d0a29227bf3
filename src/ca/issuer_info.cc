#include "ca/issuer_info.h"

#include <openssl/err.h>
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

StatusOr<IssuerInfo> LeafIssuerInfo(std::string_view chain_pem, std::string_view candidates_pem) {
  ASSIGN_OR_RETURN(std::vector<Owned<X509>> chain,
                   internal::ParseCertsPem(chain_pem, "certificate"));
  ASSIGN_OR_RETURN(std::vector<Owned<X509>> roots,
                   internal::ParseCertsPem(candidates_pem, "root CA certificate"));
  X509* leaf = chain.front().get();
  std::vector<X509*> candidates;
  for (size_t i = 1; i < chain.size(); ++i) candidates.push_back(chain[i].get());
  for (const Owned<X509>& r : roots) candidates.push_back(r.get());
  for (X509* c : candidates) {
    if (X509_verify(leaf, X509_get0_pubkey(c)) != 1) continue;
    IssuerInfo info;
    ASSIGN_OR_RETURN(info.subject_b64, DerBase64(X509_get_issuer_name(leaf), i2d_X509_NAME));
    ASSIGN_OR_RETURN(info.public_key_b64, DerBase64(X509_get_X509_PUBKEY(c), i2d_X509_PUBKEY));
    return info;
  }
  ERR_clear_error();
  return absl::NotFoundError("no known CA signed the certificate");
}

bool SignedDirectlyBy(std::string_view chain_pem, std::string_view root_pem) {
  StatusOr<Owned<X509>> leaf = ParseCertPem(chain_pem, "certificate");
  StatusOr<Owned<X509>> root = ParseCertPem(root_pem, "root CA certificate");
  if (!leaf.ok() || !root.ok()) return false;
  const bool ok = X509_verify(leaf->get(), X509_get0_pubkey(root->get())) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace capsule::ca
