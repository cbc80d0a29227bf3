// Router (declared in server.h): literal and {name} segments, optional /vX.Y prefix.
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dockerapi/http/json_message.h"
#include "dockerapi/http/server.h"
#include "dockerapi/http/url.h"

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

bool IsRestParam(const std::string& segment) {
  return IsParam(segment) && segment[segment.size() - 2] == '*';
}

std::string ParamName(const std::string& segment) {
  return segment.substr(1, segment.size() - (IsRestParam(segment) ? 3 : 2));
}

// Matches one pattern segment against one path segment.
bool MatchOne(const std::string& want, const std::string& got, Params* found) {
  if (!IsParam(want)) return want == got;
  if (got.empty()) return false;
  (*found)[ParamName(want)] = got;
  return true;
}

// A request body reader over an already-read body (Dispatch of a streaming route).
class StringBodyReader : public BodyReader {
 public:
  explicit StringBodyReader(const std::string& body) : body_(body) {}
  StatusOr<std::string_view> Next() override {
    if (done_) return std::string_view();
    done_ = true;
    return std::string_view(body_);
  }

 private:
  const std::string& body_;
  bool done_ = false;
};

// Collects a streamed response into one Response (Dispatch of a streaming route).
class BufferingStream : public ResponseStream {
 public:
  bool Begin(int status, const std::vector<std::pair<std::string, std::string>>& headers) override {
    if (begun_) return false;
    begun_ = true;
    response_.status = status;
    response_.headers = headers;
    return true;
  }
  bool Write(std::string_view data) override {
    if (!begun_) return false;
    response_.body.append(data);
    return true;
  }
  bool ClientGone() const override { return false; }
  bool begun() const { return begun_; }
  Response Take() { return std::move(response_); }

 private:
  bool begun_ = false;
  Response response_;
};

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  Route route;
  route.segments = SplitPath(pattern);
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::AddStream(std::string method, std::string pattern, StreamHandler handler) {
  Route route;
  route.segments = SplitPath(pattern);
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.stream = handler;
  route.handler = [handler](const Request& request, const Params& params) {
    StringBodyReader body(request.body);
    BufferingStream out;
    Response r = RunStream(handler, request, params, body, out);
    return out.begun() ? out.Take() : r;
  };
  routes_.push_back(std::move(route));
}

Response Router::RunStream(const StreamHandler& handler, const Request& request,
                           const Params& params, BodyReader& body, ResponseStream& out) {
  try {
    return handler(request, params, body, out);
  } catch (const std::exception& e) {
    return JsonMessage(500, e.what());
  } catch (...) {
    return JsonMessage(500, "internal error");
  }
}

void Router::SetNotFound(Handler handler) { not_found_ = std::move(handler); }

const Router::Route* Router::Match(const std::string& method,
                                   const std::vector<std::string>& segments, Params* params) const {
  for (const Route& route : routes_) {
    if (route.method != method) continue;
    const std::vector<std::string>& want = route.segments;
    size_t rest = want.size();
    for (size_t i = 0; i < want.size(); ++i) {
      if (IsRestParam(want[i])) rest = i;
    }
    Params found;
    bool ok = true;
    if (rest == want.size()) {
      ok = want.size() == segments.size();
      for (size_t i = 0; i < segments.size() && ok; ++i)
        ok = MatchOne(want[i], segments[i], &found);
    } else {
      const size_t suffix = want.size() - rest - 1;
      ok = segments.size() >= want.size();
      for (size_t i = 0; i < rest && ok; ++i) ok = MatchOne(want[i], segments[i], &found);
      for (size_t i = 0; i < suffix && ok; ++i) {
        ok = MatchOne(want[rest + 1 + i], segments[segments.size() - suffix + i], &found);
      }
      if (ok) {
        std::string joined;
        for (size_t i = rest; i < segments.size() - suffix; ++i) {
          if (i > rest) joined += '/';
          joined += segments[i];
        }
        ok = !joined.empty() && !segments[rest].empty();
        if (ok) found[ParamName(want[rest])] = joined;
      }
    }
    if (ok) {
      for (auto& [k, v] : found) (*params)[k] = std::move(v);
      return &route;
    }
  }
  return nullptr;
}

const Router::Route* Router::Find(const Request& request, Params* params) const {
  std::string path = request.path;
  const std::string version = StripApiVersion(&path);
  if (!version.empty()) (*params)["__version"] = version;
  const std::vector<std::string> segments = SplitPath(path);
  const Route* route = Match(request.method, segments, params);
  if (route == nullptr && request.method == "HEAD") route = Match("GET", segments, params);
  return route;
}

const StreamHandler* Router::FindStream(const Request& request, Params* params,
                                        std::string* matched_pattern) const {
  const Route* route = Find(request, params);
  if (route == nullptr || !route->stream) return nullptr;
  if (matched_pattern != nullptr) *matched_pattern = route->pattern;
  return &route->stream;
}

Response Router::Dispatch(const Request& request) const { return Dispatch(request, nullptr); }

Response Router::Dispatch(const Request& request, std::string* matched_pattern) const {
  Params params;
  const Route* route = Find(request, &params);
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
