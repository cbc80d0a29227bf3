// Registry credentials as Docker clients send them: the X-Registry-Auth header of a pull
// (base64url of an AuthConfig JSON) and the AuthConfig body of POST /auth. The password and
// tokens live in SecretBytes (locked, wiped, never printed).
#pragma once

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::agent::registry {

struct RegistryAuth {
  std::string username;
  SecretBytes password;
  SecretBytes identity_token;  // an OAuth refresh token from an earlier login
  std::string server_address;
  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

// The AuthConfig JSON ({"username","password","auth","identitytoken","serveraddress"};
// "auth" is base64 "user:password"). InvalidArgument for text that is not such an object.
StatusOr<RegistryAuth> ParseAuthConfig(std::string_view json_text);

// The X-Registry-Auth header: base64url (padded or not) of an AuthConfig. An empty header →
// empty credentials; InvalidArgument for one that does not decode.
StatusOr<RegistryAuth> DecodeRegistryAuthHeader(const std::string& header);

// Standard base64 of bytes (for "Authorization: Basic").
std::string Base64(std::string_view bytes);

}  // namespace capsule::agent::registry
