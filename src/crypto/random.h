// Random bytes from libsodium's CSPRNG (getrandom). Call sodium_init() once at start
// (InitCrypto) before any other crypto function.
#pragma once

#include <cstddef>
#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::crypto {

// sodium_init(); safe to call more than once. Internal error if libsodium cannot start.
Status InitCrypto();

SecretBytes RandomKey(size_t size);    // secret material
std::string RandomBytes(size_t size);  // non-secret randomness (nonces, tokens' public parts)

}  // namespace capsule::crypto
