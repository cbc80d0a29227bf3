// Base64 exactly as Go's encoding/base64 StdEncoding (padded, standard alphabet, '\r' and
// '\n' skipped) — Docker decodes secret Data with it, so the error text and byte offsets
// must match: "illegal base64 data at input byte N".
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::http {

// Go's base64.StdEncoding.DecodeString. Error: InvalidArgument
// "illegal base64 data at input byte N" (N as Go computes it). The decoded bytes go
// straight into SecretBytes; on error no partial output is returned.
StatusOr<SecretBytes> DecodeStdBase64(const std::string& in);

// Go's base64.StdEncoding.EncodeToString (with '=' padding).
std::string EncodeStdBase64(std::span<const uint8_t> in);

}  // namespace capsule::http
