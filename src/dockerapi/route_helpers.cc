#include "dockerapi/route_helpers.h"

#include <cctype>
#include <cstdio>
#include <optional>

#include "dockerapi/error_table.h"
#include "dockerapi/routes.h"

namespace capsule::dockerapi {
namespace {

// Compares "A.B" API versions numerically; false if malformed.
bool ParseApiVersion(const std::string& v, int* major, int* minor) {
  int consumed = 0;
  if (std::sscanf(v.c_str(), "%d.%d%n", major, minor, &consumed) != 2) return false;
  return static_cast<size_t>(consumed) == v.size();
}

int CompareVersions(const std::string& a, const std::string& b) {
  int amaj = 0, amin = 0, bmaj = 0, bmin = 0;
  ParseApiVersion(a, &amaj, &amin);
  ParseApiVersion(b, &bmaj, &bmin);
  if (amaj != bmaj) return amaj < bmaj ? -1 : 1;
  if (amin != bmin) return amin < bmin ? -1 : 1;
  return 0;
}

}  // namespace

// Docker's API-version middleware: the error for a /vX.Y prefix out of range, if any.
std::optional<http::Response> VersionError(const http::Params& params) {
  auto v = params.find("__version");
  if (v == params.end() || v->second.empty()) return std::nullopt;
  if (CompareVersions(v->second, kApiVersion) > 0) {
    return ErrorResponse(
        absl::InvalidArgumentError("client version " + v->second +
                                   " is too new. Maximum supported API version is " + kApiVersion));
  }
  if (CompareVersions(v->second, kMinApiVersion) < 0) {
    return ErrorResponse(absl::InvalidArgumentError(
        "client version " + v->second + " is too old. Minimum supported API version is " +
        kMinApiVersion + ", please upgrade your client to a newer version"));
  }
  return std::nullopt;
}

bool ApiVersionBelow(const http::Params& params, const std::string& version) {
  auto v = params.find("__version");
  return v != params.end() && !v->second.empty() && CompareVersions(v->second, version) < 0;
}

void AddRoute(http::Router& router, const std::string& method, const std::string& pattern,
              http::Handler handler) {
  router.Add(method, pattern,
             [handler = std::move(handler)](const http::Request& req, const http::Params& params) {
               if (auto error = VersionError(params)) return *std::move(error);
               return handler(req, params);
             });
}

void AddStreamRoute(http::Router& router, const std::string& method, const std::string& pattern,
                    http::StreamHandler handler) {
  router.AddStream(
      method, pattern,
      [handler = std::move(handler)](const http::Request& req, const http::Params& params,
                                     http::BodyReader& body, http::ResponseStream& out) {
        if (auto error = VersionError(params)) return *std::move(error);
        return handler(req, params, body, out);
      });
}

StatusOr<uint64_t> VersionQuery(const http::Request& req, const std::string& kind) {
  auto v = req.query.find("version");
  const std::string raw = v == req.query.end() ? "" : v->second;
  uint64_t version = 0;
  if (!ParseUint64(raw, &version)) {
    return absl::InvalidArgumentError("invalid " + kind + " version '" + raw +
                                      "': strconv.ParseUint: parsing \"" + raw +
                                      "\": invalid syntax");
  }
  return version;
}

bool ParseUint64(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace capsule::dockerapi

namespace capsule::dockerapi {

bool BoolQuery(const http::Request& req, const std::string& key) {
  auto it = req.query.find(key);
  if (it == req.query.end()) return false;
  std::string s;
  for (char c : it->second) {
    if (c != ' ' && c != '\t') s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return !(s.empty() || s == "0" || s == "no" || s == "false" || s == "none");
}

}  // namespace capsule::dockerapi
