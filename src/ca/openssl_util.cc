#include "ca/openssl_util.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace capsule::ca::internal {
namespace {

Owned<BIO> ReadOnlyBio(std::string_view data) {
  return Owned<BIO>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

StatusOr<std::string> DrainBio(BIO* bio, const std::string& op) {
  char* p = nullptr;
  long n = BIO_get_mem_data(bio, &p);
  if (n < 0 || (n > 0 && p == nullptr)) return OpenSslError(StatusCode::kInternal, op);
  return std::string(p, static_cast<size_t>(n));
}

}  // namespace

Status OpenSslError(StatusCode code, const std::string& op) {
  unsigned long err = ERR_get_error();
  std::string detail = "unknown error";
  if (err != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    detail = buf;
  }
  ERR_clear_error();
  return Status(code, absl::StrCat(op, ": ", detail));
}

StatusOr<Owned<X509>> ParseCertPem(std::string_view pem, const std::string& what) {
  if (pem.empty() || pem.size() > 1 << 20) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid PEM"));
  }
  Owned<BIO> bio = ReadOnlyBio(pem);
  if (!bio) return OpenSslError(StatusCode::kInternal, "BIO_new_mem_buf");
  Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid PEM"));
  }
  return cert;
}

StatusOr<std::vector<Owned<X509>>> ParseCertsPem(std::string_view pem, const std::string& what) {
  if (pem.empty() || pem.size() > 1 << 20) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid PEM"));
  }
  Owned<BIO> bio = ReadOnlyBio(pem);
  if (!bio) return OpenSslError(StatusCode::kInternal, "BIO_new_mem_buf");
  std::vector<Owned<X509>> out;
  while (true) {
    Owned<X509> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  ERR_clear_error();  // the end of the input reads as an error
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is not valid PEM"));
  return out;
}

StatusOr<Owned<X509_REQ>> ParseCsrPem(std::string_view pem) {
  if (pem.empty() || pem.size() > 1 << 20) {
    return absl::InvalidArgumentError("CSR is not valid PEM");
  }
  Owned<BIO> bio = ReadOnlyBio(pem);
  if (!bio) return OpenSslError(StatusCode::kInternal, "BIO_new_mem_buf");
  Owned<X509_REQ> req(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  if (!req) {
    ERR_clear_error();
    return absl::InvalidArgumentError("CSR is not valid PEM");
  }
  return req;
}

StatusOr<Owned<EVP_PKEY>> ParsePrivateKeyPem(const SecretBytes& pem) {
  if (pem.empty()) return absl::InvalidArgumentError("private key is not valid PEM");
  Owned<BIO> bio = ReadOnlyBio(pem.view());
  if (!bio) return OpenSslError(StatusCode::kInternal, "BIO_new_mem_buf");
  // A null passphrase callback with an empty string: an encrypted key fails instead of
  // prompting on the terminal.
  char empty[] = "";
  Owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, empty));
  if (!key) {
    ERR_clear_error();
    return absl::InvalidArgumentError("private key is not valid PEM");
  }
  return key;
}

StatusOr<std::string> CertToPem(X509* cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError(StatusCode::kInternal, "PEM_write_bio_X509");
  }
  return DrainBio(bio.get(), "PEM_write_bio_X509");
}

StatusOr<std::string> CsrToPem(X509_REQ* req) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req) != 1) {
    return OpenSslError(StatusCode::kInternal, "PEM_write_bio_X509_REQ");
  }
  return DrainBio(bio.get(), "PEM_write_bio_X509_REQ");
}

StatusOr<SecretBytes> PrivateKeyToPem(EVP_PKEY* key) {
  // BIO_s_secmem frees its buffer with OPENSSL_secure_clear_free (wiped).
  Owned<BIO> bio(BIO_new(BIO_s_secmem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError(StatusCode::kInternal, "PEM_write_bio_PrivateKey");
  }
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  if (n <= 0 || p == nullptr) return OpenSslError(StatusCode::kInternal, "BIO_get_mem_data");
  return SecretBytes::CopyFrom(std::string_view(p, static_cast<size_t>(n)));
}

StatusOr<Owned<EVP_PKEY>> GenerateP256Key() {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError(StatusCode::kInternal, "EVP_EC_gen");
  return key;
}

bool IsP256(const EVP_PKEY* key) {
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC")) return false;
  char group[64];
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key, group, sizeof(group), &len) != 1) {
    ERR_clear_error();
    return false;
  }
  return std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0;
}

Status SetRandomSerial(X509* cert) {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return OpenSslError(StatusCode::kInternal, "RAND_bytes");
  raw[0] &= 0x7f;  // positive
  raw[0] |= 0x01;  // and non-zero, 16 bytes long
  Owned<BIGNUM> bn(BN_bin2bn(raw, sizeof(raw), nullptr));
  if (!bn) return OpenSslError(StatusCode::kInternal, "BN_bin2bn");
  Owned<ASN1_INTEGER> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    return OpenSslError(StatusCode::kInternal, "X509_set_serialNumber");
  }
  return absl::OkStatus();
}

Status AddExtension(X509* issuer, X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(StatusCode::kInternal, absl::StrCat("add extension ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

StatusOr<TimePoint> FromAsn1Time(const ASN1_TIME* t) {
  struct tm tm;
  std::memset(&tm, 0, sizeof(tm));
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument, "bad certificate time");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

Status SetAsn1Time(ASN1_TIME* t, TimePoint tp) {
  if (ASN1_TIME_set(t, std::chrono::system_clock::to_time_t(tp)) == nullptr) {
    return OpenSslError(StatusCode::kInternal, "ASN1_TIME_set");
  }
  return absl::OkStatus();
}

}  // namespace capsule::ca::internal
