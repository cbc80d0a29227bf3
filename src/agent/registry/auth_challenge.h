// The WWW-Authenticate challenge a registry answers 401 with (RFC 7235), as Docker's
// registry client reads it: a scheme ("basic" or "bearer", lower-cased) and its parameters
// (realm, service, scope; names lower-cased, quoted values unescaped).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace capsule::agent::registry {

struct AuthChallenge {
  std::string scheme;                         // "basic", "bearer", ...
  std::map<std::string, std::string> params;  // "realm" → "https://auth.example/token"
};

// Every challenge in one header value ("Bearer realm=\"a\",service=\"b\", Basic realm=\"c\"").
// Malformed parameters end parsing of their challenge; never fails.
std::vector<AuthChallenge> ParseAuthChallenges(const std::string& header);

}  // namespace capsule::agent::registry
