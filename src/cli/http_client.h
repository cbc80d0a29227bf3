// A tiny blocking HTTP/1.1 client for the daemon's unix socket (Boost.Beast on Asio).
// One connection per request ("Connection: close"), which is all a CLI command needs.
// Bodies may be streamed both ways: a request body read piecewise from a BodyReader is sent
// with chunked transfer encoding (as the docker CLI uploads `import`/`load` archives), and
// Stream() hands the response body to a sink as it arrives (`logs -f`, progress streams).
// Paths are sent with the API version prefix: Request("GET", "/secrets") → GET /v1.41/secrets.
// Not thread-safe; a client may be reused for sequential requests.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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
  // Repeated query keys (docker's `changes=…&changes=…`), encoded together with `query`,
  // sorted by key as Go's url.Values.Encode; values of one key keep their order.
  std::vector<std::pair<std::string, std::string>> query_list{};
  // When set, the body is read from here until it returns 0 and sent chunked; `body` is
  // ignored. Errors abort the request and are returned as they are.
  std::function<StatusOr<size_t>(char* buf, size_t capacity)> body_reader{};
};

// Receives a streamed response body piece by piece; a non-OK status stops the stream and
// is returned by Stream().
using BodySink = std::function<Status(std::string_view data)>;

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

  // As Do(), but a 2xx response body goes to `sink` as it arrives (the returned body stays
  // empty); other statuses are read whole into the returned body, for DaemonError.
  StatusOr<HttpResponse> Stream(const HttpRequest& request, const BodySink& sink);

  const DaemonHost& host() const { return host_; }

 private:
  DaemonHost host_;
};

}  // namespace capsule::cli
