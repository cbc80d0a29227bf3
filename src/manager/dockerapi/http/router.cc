// Router (declared in server.h): literal and {name} segments, optional /vX.Y prefix.
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "manager/dockerapi/http/server.h"
#include "manager/dockerapi/http/json_message.h"
#include "manager/dockerapi/http/url.h"

namespace capsule::http {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  size_t i = path.empty() || path[0] != '/' ? 0 : 1;
  if (path.size() <= 1 && i == 1) return out;  // "/" has no segments
  for (;;) {
    const size_t slash = path.find('/', i);
    out.push_back(path.substr(i, slash == std::string::npos ? std::string::npos : slash - i));
    if (slash == std::string::npos) break;
    i = slash + 1;
  }
  return out;
}

bool IsParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}


}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.segments = SplitPath(pattern);
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::SetNotFound(Handler handler) { not_found_ = std::move(handler); }

const Router::Route* Router::Match(const std::string& method,
                                   const std::vector<std::string>& segments, Params* params) const {
  for (const Route& route : routes_) {
    if (route.method != method || route.segments.size() != segments.size()) continue;
    Params found;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& want = route.segments[i];
      if (IsParam(want)) {
        ok = !segments[i].empty();
        if (ok) found[want.substr(1, want.size() - 2)] = segments[i];
      } else {
        ok = want == segments[i];
      }
    }
    if (ok) {
      for (auto& [k, v] : found) (*params)[k] = std::move(v);
      return &route;
    }
  }
  return nullptr;
}

Response Router::Dispatch(const Request& request) const { return Dispatch(request, nullptr); }

Response Router::Dispatch(const Request& request, std::string* matched_pattern) const {
  std::string path = request.path;
  Params params;
  const std::string version = StripApiVersion(&path);
  if (!version.empty()) params["__version"] = version;
  const std::vector<std::string> segments = SplitPath(path);
  const Route* route = Match(request.method, segments, &params);
  if (route == nullptr && request.method == "HEAD") route = Match("GET", segments, &params);
  if (matched_pattern != nullptr) *matched_pattern = route ? route->pattern : "";
  try {
    if (route != nullptr) return route->handler(request, params);
    if (not_found_) return not_found_(request, params);
    return JsonMessage(404, "page not found");
  } catch (const std::exception& e) {
    return JsonMessage(500, e.what());
  } catch (...) {
    return JsonMessage(500, "internal error");
  }
}

}  // namespace capsule::http
