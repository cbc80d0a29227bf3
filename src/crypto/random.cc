#include "crypto/random.h"

#include <sodium.h>

namespace capsule::crypto {

Status InitCrypto() {
  if (sodium_init() < 0) return absl::InternalError("sodium_init failed");
  return absl::OkStatus();
}

SecretBytes RandomKey(size_t size) {
  SecretBytes out(size);
  if (size > 0) randombytes_buf(out.data(), size);
  return out;
}

std::string RandomBytes(size_t size) {
  std::string out(size, '\0');
  if (size > 0) randombytes_buf(out.data(), size);
  return out;
}

}  // namespace capsule::crypto
