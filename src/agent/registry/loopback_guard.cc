#include "agent/registry/loopback_guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace capsule::agent::registry {

std::string UrlHost(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  size_t start = scheme_end + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority =
      url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority.erase(0, at + 1);
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    return close == std::string::npos ? "" : authority.substr(1, close - 1);
  }
  size_t colon = authority.find(':');
  return colon == std::string::npos ? authority : authority.substr(0, colon);
}

bool IsLoopbackHost(const std::string& host) {
  std::string lower = host;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "localhost" || lower == "::1") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, lower.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

namespace {

class LoopbackOnlyTransport final : public HttpTransport {
 public:
  explicit LoopbackOnlyTransport(HttpTransport& inner) : inner_(inner) {}

  StatusOr<HttpResponse> Do(const HttpRequest& request, const BodySink* sink,
                            size_t body_limit) override {
    std::string host = UrlHost(request.url);
    if (!IsLoopbackHost(host)) {
      return absl::FailedPreconditionError(
          "registry " + host +
          " refused: this node only contacts loopback registries (--registries-loopback-only)");
    }
    return inner_.Do(request, sink, body_limit);
  }

 private:
  HttpTransport& inner_;
};

}  // namespace

std::unique_ptr<HttpTransport> NewLoopbackOnlyTransport(HttpTransport& inner) {
  return std::make_unique<LoopbackOnlyTransport>(inner);
}

}  // namespace capsule::agent::registry
