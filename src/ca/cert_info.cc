#include "ca/cert_info.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "ca/openssl_util.h"

namespace capsule::ca {

using internal::OpenSslError;
using internal::Owned;

namespace {

// The single entry `nid` of `name`, as UTF-8. Missing or repeated → InvalidArgument.
StatusOr<std::string> OnlyEntry(X509_NAME* name, int nid, const char* field) {
  int idx = X509_NAME_get_index_by_NID(name, nid, -1);
  if (idx < 0 || X509_NAME_get_index_by_NID(name, nid, idx) >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate subject must have exactly one ", field));
  }
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return OpenSslError(StatusCode::kInvalidArgument, field);
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

void ReadSans(X509* cert, CertInfo* info) {
  Owned<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type == GEN_DNS) {
      const ASN1_STRING* s = gn->d.dNSName;
      info->dns_sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = gn->d.iPAddress;
      char buf[INET6_ADDRSTRLEN];
      int len = ASN1_STRING_length(s);
      int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : 0;
      if (family != 0 && inet_ntop(family, ASN1_STRING_get0_data(s), buf, sizeof(buf))) {
        info->ip_sans.emplace_back(buf);
      }
    }
  }
}

}  // namespace

StatusOr<CertInfo> ParseCertInfo(std::string_view cert_pem) {
  ASSIGN_OR_RETURN(Owned<X509> cert, internal::ParseCertPem(cert_pem, "certificate"));
  X509_NAME* subject = X509_get_subject_name(cert.get());
  CertInfo info;
  ASSIGN_OR_RETURN(info.node_id, OnlyEntry(subject, NID_commonName, "CN"));
  ASSIGN_OR_RETURN(std::string ou, OnlyEntry(subject, NID_organizationalUnitName, "OU"));
  ASSIGN_OR_RETURN(info.role, ParseRole(ou));
  ASSIGN_OR_RETURN(info.cluster_id, OnlyEntry(subject, NID_organizationName, "O"));
  ASSIGN_OR_RETURN(info.not_before, internal::FromAsn1Time(X509_get0_notBefore(cert.get())));
  ASSIGN_OR_RETURN(info.not_after, internal::FromAsn1Time(X509_get0_notAfter(cert.get())));
  ReadSans(cert.get(), &info);
  return info;
}

Status VerifyNodeCert(std::string_view cert_pem, std::string_view root_cert_pem, TimePoint now) {
  ASSIGN_OR_RETURN(std::vector<Owned<X509>> roots,
                   internal::ParseCertsPem(root_cert_pem, "root CA certificate"));
  StatusOr<std::vector<Owned<X509>>> chain = internal::ParseCertsPem(cert_pem, "certificate");
  if (!chain.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate verification failed: ", chain.status().message()));
  }
  Owned<X509_STORE> store(X509_STORE_new());
  if (!store) return OpenSslError(StatusCode::kInternal, "X509_STORE_new");
  for (const Owned<X509>& root : roots) {
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) {
      return OpenSslError(StatusCode::kInternal, "X509_STORE_add_cert");
    }
  }
  // The certificates after the leaf are untrusted intermediates (a cross-signed root).
  struct StackFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
  };
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  if (!untrusted) return OpenSslError(StatusCode::kInternal, "sk_X509_new_null");
  for (size_t i = 1; i < chain->size(); ++i) sk_X509_push(untrusted.get(), (*chain)[i].get());
  Owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx ||
      X509_STORE_CTX_init(ctx.get(), store.get(), chain->front().get(), untrusted.get()) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_STORE_CTX_init");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, std::chrono::system_clock::to_time_t(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::PermissionDeniedError(
        absl::StrCat("certificate verification failed: ", X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

StatusOr<CertInfo> VerifyAndParseNodeCert(std::string_view cert_pem, std::string_view root_cert_pem,
                                          TimePoint now) {
  RETURN_IF_ERROR(VerifyNodeCert(cert_pem, root_cert_pem, now));
  return ParseCertInfo(cert_pem);
}

}  // namespace capsule::ca
