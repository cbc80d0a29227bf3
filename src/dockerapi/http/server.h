// HTTP/1.1 server on a unix socket (Boost.Beast on Asio). Asynchronous I/O on a few
// threads; handlers run on a separate worker pool, so a handler may block (store calls)
// without stalling other connections. Every connection has a read timeout for headers and
// body, an idle keep-alive timeout, and a body limit that also bounds chunked bodies: a
// request larger than the limit is refused with 413 before it is read into memory. A
// response with a BodySource (large lists) is written piece by piece as the client reads it,
// with no thread held while it waits on the client.
//
// Thread-safety: Start/Stop from one thread; handlers run concurrently on the worker pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "dockerapi/http/body_source.h"

namespace capsule::http {

// The client process of a connection, read with SO_PEERCRED when the server accepts it (the
// credentials of the process that connected, as the kernel recorded them at connect()).
struct PeerCredentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;
};

struct Request {
  std::string method;  // "GET", "HEAD", "POST", "DELETE", ...
  std::string target;  // raw request target, e.g. "/v1.41/secrets?filters=..."
  std::string path;    // target without the query, percent-decoded
  std::map<std::string, std::string> query;  // decoded; last value wins
  std::map<std::string, std::vector<std::string>> query_all;
  std::map<std::string, std::string> headers;  // keys lower-cased
  std::string body;             // wiped (WipeString) by the server after the handler returns
  bool body_too_large = false;  // never reaches handlers: the server answers 413 itself
  // The connection's peer (unset when the kernel gave none; requests built by tests).
  std::optional<PeerCredentials> peer;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Content-Type", ...}
  std::string body;
  // When set, the body is written piece by piece from this source (body stays empty), with
  // the source's size as its Content-Length: see body_source.h.
  std::shared_ptr<BodySource> source = nullptr;
};

// A handler gets the request and the route's path parameters (by name).
using Params = std::map<std::string, std::string>;
using Handler = std::function<Response(const Request&, const Params&)>;

// Streaming routes (image uploads, logs): the handler reads the request body in pieces
// (no body limit: Request::body stays empty) and may stream its response. Both block the
// handler's thread; a streaming handler runs on a thread of its own (at most
// ServerOptions::max_streams at once), never on the shared worker pool.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // The next piece of the body, valid until the next call; empty = end of the body.
  // An error when the client goes away or stalls longer than the read timeout.
  virtual StatusOr<std::string_view> Next() = 0;
};

class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Sends the status line and headers; the body follows in chunks. At most once.
  virtual bool Begin(int status,
                     const std::vector<std::pair<std::string, std::string>>& headers) = 0;
  // Sends one piece of the body (after Begin); false once the client has gone.
  virtual bool Write(std::string_view data) = 0;
  // True once the client closed its end (a follower should stop).
  virtual bool ClientGone() const = 0;
};

// If the handler called Begin, its returned Response is ignored and the stream is ended;
// otherwise the returned Response is sent as for a plain handler.
using StreamHandler =
    std::function<Response(const Request&, const Params&, BodyReader&, ResponseStream&)>;

// Routes: patterns like "/secrets/{id}/update", matched against the path with an optional
// leading "/vX.Y" version segment stripped (the stripped version is put in
// params["__version"] if present). A pattern segment "{name}" matches one non-empty segment;
// one segment "{name*}" per pattern may match one or more segments (joined by '/'), so
// "/images/{name*}/json" takes image names such as "127.0.0.1:5000/app/web:1".
class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler);
  // A streaming route (see StreamHandler).
  void AddStream(std::string method, std::string pattern, StreamHandler handler);
  // The fallback for no matching route (Docker: 404 {"message":"page not found"}).
  void SetNotFound(Handler handler);
  // Finds the handler; fills params (and the matched pattern, for request logs).
  // A HEAD request with no HEAD route uses the GET route (the server drops the body).
  // A handler that throws yields 500 {"message": ...}; exceptions never escape.
  Response Dispatch(const Request& request) const;
  // Same, and reports the matched route pattern ("/secrets/{id}"; "" when no route
  // matched) so request logs never need the raw target. (Addition to the lead's contract.)
  Response Dispatch(const Request& request, std::string* matched_pattern) const;
  // The server's way in for streaming routes: the handler of the streaming route matching
  // request (nullptr when the route is not a streaming one), its params and pattern.
  const StreamHandler* FindStream(const Request& request, Params* params,
                                  std::string* matched_pattern) const;
  // Runs a streaming handler, catching exceptions as Dispatch does.
  static Response RunStream(const StreamHandler& handler, const Request& request,
                            const Params& params, BodyReader& body, ResponseStream& out);

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    StreamHandler stream;  // set for streaming routes (handler is then a buffering adapter)
  };
  const Route* Match(const std::string& method, const std::vector<std::string>& segments,
                     Params* params) const;
  const Route* Find(const Request& request, Params* params) const;
  std::vector<Route> routes_;
  Handler not_found_;
};

struct ServerOptions {
  // The unix socket. A stale socket file (its server gone: connect refused) is replaced; Start
  // refuses (FailedPrecondition, see CheckNotServed) a socket a live server answers on, and
  // leaves it alone.
  std::string socket_path;
  unsigned socket_mode = 0660;
  int socket_gid = -1;  // chown the socket to this group after bind (-1: leave)
  size_t body_limit = 16 << 20;
  std::chrono::milliseconds read_timeout{30000};   // headers + body of one request
  std::chrono::milliseconds idle_timeout{120000};  // keep-alive between requests
  int io_threads = 2;
  int worker_threads = 32;
  int max_streams = 64;  // streaming handlers running at once; more → 503
  // Headers added to every response (Api-Version, Ostype, ...), computed per request.
  std::function<std::vector<std::pair<std::string, std::string>>()> common_headers;
};

// OK when no server answers on the unix socket at socket_path (no file there, or a stale
// socket whose server is gone); FailedPrecondition "<path> is served by a running daemon: ..."
// when one accepts connections. One connect(), nothing else touched.
Status CheckNotServed(const std::string& socket_path);

class Server {
 public:
  Server(ServerOptions options, const Router& router);
  ~Server();  // Stop()
  // Binds (the socket appears at socket_path already with socket_mode and socket_gid: bound
  // in a private 0700 directory beside it, then renamed into place), starts threads. Once per
  // Server (not restartable after Stop).
  Status Start();
  // Closes the listener and all connections, waits for running handlers, joins threads and
  // unlinks the socket file; idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace capsule::http
