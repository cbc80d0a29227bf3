// Registration helpers shared by the *_routes.cc files.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "dockerapi/http/server.h"

namespace capsule::dockerapi {

// Registers handler behind Docker's API-version middleware: a /vX.Y prefix newer than
// kApiVersion → 400 "client version X.Y is too new. Maximum supported API version is 1.41";
// older than kMinApiVersion → 400 "client version X.Y is too old. ...".
void AddRoute(http::Router& router, const std::string& method, const std::string& pattern,
              http::Handler handler);

// The same for a streaming route (image uploads, logs).
void AddStreamRoute(http::Router& router, const std::string& method, const std::string& pattern,
                    http::StreamHandler handler);

// Docker's BoolValue: false when absent, "", "0", "no", "false" or "none"; else true.
bool BoolQuery(const http::Request& req, const std::string& key);

// The `version` query parameter of a node or swarm update, parsed as the engine does;
// else InvalidArgument "invalid <kind> version '<raw>': strconv.ParseUint: parsing "<raw>":
// invalid syntax".
StatusOr<uint64_t> VersionQuery(const http::Request& req, const std::string& kind);

// A JSON array of entries whose JSON the read model rendered already (`entry->json`): a
// list is a concatenation. List routes send theirs with JsonArrayResponse
// (json_array_body.h) instead, which streams the same bytes without building this string.
template <typename Entry>
std::string JsonArrayOf(const std::vector<Entry>& entries) {
  std::string body = "[";
  for (const Entry& e : entries) {
    if (body.size() > 1) body += ',';
    body += e->json;
  }
  body += ']';
  return body;
}

// Whether the request's /vX.Y prefix names an API version older than `version` (no prefix:
// the current version, never older).
bool ApiVersionBelow(const http::Params& params, const std::string& version);

// Strict unsigned decimal (Go's strconv.ParseUint(s, 10, 64)): digits only, no sign/space.
bool ParseUint64(const std::string& s, uint64_t* out);

}  // namespace capsule::dockerapi
