// The HTTP(S) client the registry client speaks through, as an interface so tests can
// answer requests themselves. The real one (Boost.Beast, OpenSSL) opens one connection per
// request; HTTPS verifies the server against the system's CAs plus Docker's per-registry
// ones: every "*.crt" in <certs_dir>/<host:port>/ (e.g. ca.crt), and a client certificate
// "<name>.cert" with "<name>.key" from that directory when present.
//
// Thread-safe: requests may run concurrently. Requests block (60 s without progress fails).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace capsule::agent::registry {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // "https://host:port/v2/...": scheme http or https
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;
  // Header names lower-cased; repeated headers joined with ", " (WWW-Authenticate too).
  std::map<std::string, std::string> headers;
  std::string body;  // the body when it was not streamed to a sink
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// Receives a 2xx response's body in pieces; an error aborts the request with that error.
using BodySink = std::function<Status(std::string_view)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends the request; a 2xx body goes to `sink` when one is given, any other body (and a
  // 2xx body without a sink) into HttpResponse::body, at most `body_limit` bytes (more →
  // InvalidArgument). Redirects are returned, not followed. Unavailable "<Method> "<url>":
  // <reason>" when the server cannot be reached, TLS fails, or the connection breaks.
  virtual StatusOr<HttpResponse> Do(const HttpRequest& request, const BodySink* sink,
                                    size_t body_limit) = 0;
};

// certs_dir: Docker's /etc/docker/certs.d (a test passes its own).
std::unique_ptr<HttpTransport> NewHttpTransport(const std::string& certs_dir);

}  // namespace capsule::agent::registry
