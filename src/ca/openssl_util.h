// Internal to src/ca: RAII owners for OpenSSL objects, PEM <-> object helpers and the one
// place where OpenSSL's error queue becomes a Status. Not for use outside src/ca.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::ca::internal {

struct OpenSslDeleter {
  void operator()(BIO* p) const { BIO_free_all(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_REQ* p) const { X509_REQ_free(p); }
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(ASN1_INTEGER* p) const { ASN1_INTEGER_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};

template <typename T>
using Owned = std::unique_ptr<T, OpenSslDeleter>;

// `code` with message "<op>: <first OpenSSL error>"; drains the thread's error queue.
Status OpenSslError(StatusCode code, const std::string& op);

// PEM parsing. Bad input → InvalidArgument(what + " is not valid PEM"). The input is not copied.
StatusOr<Owned<X509>> ParseCertPem(std::string_view pem, const std::string& what);
StatusOr<Owned<X509_REQ>> ParseCsrPem(std::string_view pem);
// Every certificate of a PEM bundle, in order. None, or bad input → InvalidArgument.
StatusOr<std::vector<Owned<X509>>> ParseCertsPem(std::string_view pem, const std::string& what);
StatusOr<Owned<EVP_PKEY>> ParsePrivateKeyPem(const SecretBytes& pem);

// PEM writing. The private key goes through a BIO that wipes its memory when freed.
StatusOr<std::string> CertToPem(X509* cert);
StatusOr<std::string> CsrToPem(X509_REQ* req);
StatusOr<SecretBytes> PrivateKeyToPem(EVP_PKEY* key);

// A fresh ECDSA P-256 key (EVP_EC_gen).
StatusOr<Owned<EVP_PKEY>> GenerateP256Key();

// True when key is an EC key on P-256.
bool IsP256(const EVP_PKEY* key);

// 128-bit random positive serial number.
Status SetRandomSerial(X509* cert);

// Adds an extension given in OpenSSL's config syntax (e.g. "critical,CA:TRUE") with issuer
// and subject taken from `issuer` / `cert`. Internal error on failure.
Status AddExtension(X509* issuer, X509* cert, int nid, const std::string& value);

// ASN1_TIME <-> TimePoint (whole seconds).
StatusOr<TimePoint> FromAsn1Time(const ASN1_TIME* t);
Status SetAsn1Time(ASN1_TIME* t, TimePoint tp);

}  // namespace capsule::ca::internal
