// Fuzz target: the HTTP request target as the server handles it: ParseTarget (percent
// decoding, query pairs) then Router::Dispatch over Capsule's real route patterns (version
// prefix, {name} and {name*} segments). Input: first byte picks the method, the rest is the
// raw target. Invariants: the path has no raw '?', every route's parameters are non-empty,
// single-segment parameters contain no '/', and the version is "<digits>.<digits>".
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dockerapi/http/server.h"
#include "dockerapi/http/url.h"
#include "fuzz_check.h"

namespace {

using capsule::http::Params;
using capsule::http::Request;
using capsule::http::Response;

bool IsVersion(const std::string& v) {
  const size_t dot = v.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == v.size()) return false;
  return v.find_first_not_of("0123456789.") == std::string::npos &&
         v.find('.', dot + 1) == std::string::npos;
}

const capsule::http::Router& Routes() {
  static const capsule::http::Router* router = [] {
    auto* r = new capsule::http::Router;
    const std::vector<std::pair<std::string, std::string>> routes = {
        {"GET", "/_ping"},
        {"HEAD", "/_ping"},
        {"GET", "/version"},
        {"GET", "/info"},
        {"GET", "/swarm"},
        {"POST", "/swarm/init"},
        {"POST", "/swarm/join"},
        {"POST", "/swarm/leave"},
        {"POST", "/swarm/update"},
        {"GET", "/nodes"},
        {"GET", "/nodes/{id}"},
        {"POST", "/nodes/{id}/update"},
        {"DELETE", "/nodes/{id}"},
        {"GET", "/secrets"},
        {"POST", "/secrets/create"},
        {"GET", "/secrets/{id}"},
        {"POST", "/secrets/{id}/update"},
        {"DELETE", "/secrets/{id}"},
        {"POST", "/networks/create"},
        {"GET", "/networks"},
        {"GET", "/networks/{id}"},
        {"DELETE", "/networks/{id}"},
        {"GET", "/services"},
        {"POST", "/services/create"},
        {"GET", "/services/{id}"},
        {"POST", "/services/{id}/update"},
        {"DELETE", "/services/{id}"},
        {"GET", "/services/{id}/logs"},
        {"GET", "/tasks"},
        {"GET", "/tasks/{id}"},
        {"GET", "/images/json"},
        {"GET", "/images/{name*}/json"},
        {"DELETE", "/images/{name*}"},
        {"GET", "/distribution/{name*}/json"},
        {"POST", "/images/create"},
        {"POST", "/images/load"}};
    for (const auto& route : routes) {
      const std::string& method = route.first;
      const std::string pattern = route.second;
      const bool single_only = pattern.find('*') == std::string::npos;
      r->Add(method, pattern, [single_only, pattern](const Request&, const Params& params) {
        for (const auto& [k, v] : params) {
          if (k == "__version") {
            FUZZ_CHECK(IsVersion(v), "bad version '%s'", v.c_str());
            continue;
          }
          FUZZ_CHECK(!v.empty(), "empty parameter %s in %s", k.c_str(), pattern.c_str());
          if (single_only) {
            FUZZ_CHECK(v.find('/') == std::string::npos, "'/' in %s of %s", k.c_str(),
                       pattern.c_str());
          }
        }
        return Response{200, {}, pattern};
      });
    }
    return r;
  }();
  return *router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const char* const kMethods[] = {"GET", "POST", "DELETE", "HEAD", "PUT", "get"};
  Request req;
  req.method = kMethods[data[0] % 6];
  req.target.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  capsule::Status st = capsule::http::ParseTarget(&req);
  if (!st.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(st), "unexpected code: %s", st.ToString().c_str());
    return 0;
  }
  for (const auto& [k, v] : req.query) {
    auto it = req.query_all.find(k);
    FUZZ_CHECK(it != req.query_all.end() && !it->second.empty() && it->second.back() == v,
               "query and query_all disagree on '%s'", k.c_str());
  }
  std::string matched;
  Response r = Routes().Dispatch(req, &matched);
  FUZZ_CHECK(r.status == 200 || r.status == 404, "status %d", r.status);
  FUZZ_CHECK((r.status == 200) == !matched.empty(), "matched pattern and status disagree");
  return 0;
}
