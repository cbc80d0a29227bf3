// Request-target helpers: percent-decoding (Go's url.PathUnescape / QueryUnescape rules),
// query parsing into Request::query / query_all, and the optional "/vX.Y" API prefix.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "dockerapi/http/server.h"

namespace capsule::http {

// Decodes %XX escapes (and '+' → ' ' if plus_as_space). False on a malformed escape.
bool PercentDecode(std::string_view in, bool plus_as_space, std::string* out);

// Fills request->path (decoded, without the query) and request->query / query_all from
// request->target. Malformed escapes in the path → InvalidArgument; a malformed query
// pair (bad escape, or containing ';' as Go >= 1.17 rejects) is skipped, as Go does.
Status ParseTarget(Request* request);

// Wipes what a request carried in place: target, path, query, query_all, header values
// (X-Registry-Auth carries registry credentials), body (secret data
// may arrive in a query string: dockerode sends a secret's Data there as well as in the body).
// The server calls it once the handler has returned.
void WipeRequest(Request* request);

// If path starts with a "/v<digits>.<digits>" segment, removes it and returns the version
// ("1.41"); else returns "" and leaves path alone. "/v1.41" alone becomes "/".
std::string StripApiVersion(std::string* path);

}  // namespace capsule::http
