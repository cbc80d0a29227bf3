// A tiny blocking HTTP/1.1 client for the daemon's unix socket (Boost.Beast on Asio).
// One connection per request ("Connection: close"), which is all a CLI command needs.
// Paths are sent with the API version prefix: Request("GET", "/secrets") → GET /v1.41/secrets.
// Not thread-safe; a client may be reused for sequential requests.
#pragma once

#include <map>
#include <string>

#include "cli/host.h"
#include "cli/query.h"
#include "common/status.h"

namespace capsule::cli {

inline constexpr char kApiVersion[] = "1.41";

struct HttpRequest {
  std::string method = "GET";  // GET, POST, DELETE, HEAD, PUT
  std::string path;            // without the version prefix, e.g. "/secrets/create"
  QueryParams query;           // percent-encoded by the client
  std::string body;            // sent as is; the client wipes its own copy after sending
  std::string content_type;    // set when body is non-empty; default application/json
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

class HttpClient {
 public:
  explicit HttpClient(DaemonHost host) : host_(std::move(host)) {}

  // Sends one request and reads the whole response. Any HTTP status is a success here;
  // callers map non-2xx answers (see daemon_error.h).
  // Errors: Unavailable "Cannot connect to the Capsule daemon at <url>. Is capsuled running?"
  // when nothing listens; PermissionDenied when the socket is not accessible; Unavailable for
  // a connection that breaks mid-request.
  StatusOr<HttpResponse> Do(const HttpRequest& request);

  const DaemonHost& host() const { return host_; }

 private:
  DaemonHost host_;
};

}  // namespace capsule::cli
