// Swarm join tokens: "SWMTKN-1-<digest>-<secret>", where <digest> is the sha256 of the root
// CA certificate PEM in base 36 zero-padded to 50 chars and <secret> is 16 random bytes in
// base 36 zero-padded to 25 chars (Docker's format). One token for workers and one for
// managers; a joining node checks the root CA it fetched against <digest> before trusting
// it, and the manager compares the whole token against the current ones in constant time.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace capsule::ca {

inline constexpr char kJoinTokenPrefix[] = "SWMTKN-1-";
inline constexpr size_t kJoinTokenDigestLen = 50;
inline constexpr size_t kJoinTokenSecretLen = 25;

struct JoinToken {
  std::string root_digest;  // 50 chars of [0-9a-z]
  std::string secret;       // 25 chars of [0-9a-z]
};

// sha256(root_cert_pem) in base 36, 50 chars.
std::string RootCaDigestBase36(std::string_view root_cert_pem);

// A fresh token for the given root CA certificate.
std::string NewJoinToken(std::string_view root_cert_pem);

// Splits a token. Wrong prefix, lengths or characters → InvalidArgument("invalid join token").
StatusOr<JoinToken> ParseJoinToken(std::string_view token);

// True when the token names this root CA (the joining node's check before trusting it).
bool JoinTokenMatchesRoot(const JoinToken& token, std::string_view root_cert_pem);

// True when `presented` is the same valid token as `expected`; the secret parts are compared
// in constant time. False when either does not parse.
bool JoinTokenMatches(std::string_view presented, std::string_view expected);

}  // namespace capsule::ca
