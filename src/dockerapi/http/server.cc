// Server (declared in server.h): Boost.Beast over a unix stream socket.
//
// Threading: socket I/O runs on `io_threads` threads; each connection's work is serialised
// on its own strand. A parsed request is handed to the worker pool, which runs the router
// and posts the response back to the connection's strand for writing. One request is in
// flight per connection (no concurrent pipelining); keep-alive reads resume after the write.
#include "dockerapi/http/server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <future>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/errno_status.h"
#include "common/secret_bytes.h"
#include "common/unique_fd.h"
#include "dockerapi/http/json_message.h"
#include "dockerapi/http/url.h"
#include "dockerapi/http/wiping_body.h"

namespace capsule::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using stream_protocol = net::local::stream_protocol;
using Clock = std::chrono::steady_clock;

constexpr size_t kHeaderLimit = 64 * 1024;

std::string HttpDate() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

// SO_PEERCRED of an accepted unix socket: who connected (for the audit log). nullopt if the
// kernel refuses (never for a unix stream socket).
std::optional<PeerCredentials> ReadPeerCredentials(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof(cred)) {
    spdlog::warn("http: SO_PEERCRED: {}", std::strerror(errno));
    return std::nullopt;
  }
  return PeerCredentials{static_cast<uint32_t>(cred.uid), static_cast<uint32_t>(cred.gid),
                         static_cast<int32_t>(cred.pid)};
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

namespace server_internal {

class Session;

// Everything the server shares with its sessions (Server::Impl is private to Server).
struct ServerCore {
  ServerCore(ServerOptions opts, const Router& r) : options(std::move(opts)), router(r) {}

  void DoAccept();
  void Register(const std::shared_ptr<Session>& s) {
    std::lock_guard<std::mutex> lock(mu);
    sessions[s.get()] = s;
  }
  void Unregister(Session* s) {
    std::lock_guard<std::mutex> lock(mu);
    sessions.erase(s);
  }
  void RunIo() {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("http: io thread: {}", e.what());
      }
    }
  }

  ServerOptions options;
  const Router& router;
  net::io_context ioc;
  stream_protocol::acceptor acceptor{net::make_strand(ioc)};
  net::steady_timer accept_retry{acceptor.get_executor()};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::unique_ptr<net::thread_pool> workers;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::atomic<bool> stopping{false};
  bool started = false;
  bool stopped = false;

  // Streaming handlers (each on a thread of its own), bounded by options.max_streams.
  bool TryAcquireStream() {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping || active_streams >= std::max(1, options.max_streams)) return false;
    ++active_streams;
    return true;
  }
  void ReleaseStream() {
    std::lock_guard<std::mutex> lock(mu);
    --active_streams;
    streams_cv.notify_all();
  }
  void WaitForStreams() {
    std::unique_lock<std::mutex> lock(mu);
    while (!streams_cv.wait_for(lock, std::chrono::seconds(10),
                                [this] { return active_streams == 0; })) {
      spdlog::warn("http: waiting for {} streaming handler(s) to finish", active_streams);
    }
  }
  int active_streams = 0;
  std::condition_variable streams_cv;
};

// One connection. Every method except the constructor/destructor runs on the strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ServerCore* impl, stream_protocol::socket socket)
      : impl_(impl),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        peer_(ReadPeerCredentials(socket_.native_handle())) {}
  ~Session() {
    ResetParser();
    if (body_parser_) WipeTarget(body_parser_->get().target());
    WipeBuffer();
    impl_->Unregister(this);
  }

  void Start() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->ReadRequest(); });
  }

  void PostClose() {
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->Close(); });
  }

 private:
  void Close() {
    if (closed_) return;
    closed_ = true;
    timer_.cancel();
    beast::error_code ec;
    socket_.shutdown(stream_protocol::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  void ArmTimer(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      if (self->timer_.expiry() <= Clock::now()) {
        self->timed_out_ = true;
        self->Close();
      }
    });
  }

  void DisarmTimer() { timer_.expires_at(net::steady_timer::time_point::max()); }

  // Wipes the read buffer's free space (it held earlier request bodies), keeping any
  // unread (pipelined) bytes.
  void WipeBuffer() {
    const size_t slack = buffer_.capacity() - buffer_.size();
    if (slack == 0) return;
    auto region = buffer_.prepare(slack);
    WipeBytes(region.data(), region.size());
  }
  static void WipeBytes(void* p, size_t n) {
    volatile unsigned char* v = static_cast<volatile unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) v[i] = 0;
  }

  void ReadRequest() {
    if (closed_) return;
    if (impl_->stopping) return Close();
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    // No body limit while the headers are read (not boost::none: this Beast compares a length
    // with an empty optional as "greater"): Beast refuses a Content-Length above the
    // limit as soon as the headers are in, which would refuse a large upload to a streaming
    // route. OnHeader applies the limit to every other route.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    ArmTimer(impl_->options.read_timeout);
    bhttp::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // The request line and headers of the parser's message (no body yet).
  std::shared_ptr<Request> HeaderRequest() {
    auto& msg = parser_->get();
    auto request = std::make_shared<Request>();
    request->method = std::string(msg.method_string());
    request->target = std::string(msg.target());
    request->peer = peer_;
    for (const auto& field : msg) {
      std::string key = Lower(std::string(field.name_string()));
      auto [it, inserted] = request->headers.emplace(key, std::string(field.value()));
      if (!inserted) it->second.append(", ").append(std::string(field.value()));
    }
    return request;
  }

  // Headers are in: a streaming route takes the body itself; others read it whole (bounded).
  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    auto request = HeaderRequest();
    if (ParseTarget(request.get()).ok()) {
      Params params;
      std::string pattern;
      if (const StreamHandler* h = impl_->router.FindStream(*request, &params, &pattern)) {
        return StartStream(std::move(request), h, std::move(params), std::move(pattern));
      }
    }
    // A buffered route: an announced body above the limit is refused before it is read; a
    // chunked one is refused by the parser once its chunks exceed the limit.
    WipeRequest(request.get());  // OnRead makes the request the handler gets
    const boost::optional<std::uint64_t> length = parser_->content_length();
    if (length && *length > impl_->options.body_limit) return OnRead(bhttp::error::body_limit);
    parser_->body_limit(impl_->options.body_limit);
    bhttp::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  // Between keep-alive requests: wait (idle_timeout) for the next byte, then read the
  // request under read_timeout.
  void WaitForNextRequest() {
    if (impl_->stopping) return Close();
    if (buffer_.size() > 0) return ReadRequest();
    ArmTimer(impl_->options.idle_timeout);
    socket_.async_wait(stream_protocol::socket::wait_read,
                       [self = shared_from_this()](beast::error_code ec) {
                         if (ec || self->closed_) return self->Close();
                         self->ReadRequest();
                       });
  }

  // Drops the parser (if any) after wiping its copy of the request target: the query string
  // may hold secret data.
  void ResetParser() {
    if (!parser_) return;
    WipeTarget(parser_->get().target());
    // Header values too: X-Registry-Auth carries registry credentials.
    for (const auto& field : parser_->get()) WipeTarget(field.value());
    parser_.reset();
  }
  // The target is held in the message's own (heap) storage.
  static void WipeTarget(beast::string_view target) {
    if (!target.empty()) WipeBytes(const_cast<char*>(target.data()), target.size());
  }

  void OnRead(beast::error_code ec) {
    if (ec) {
      ResetParser();
      if (closed_ || timed_out_) return Close();
      if (ec == bhttp::error::body_limit) return SendError(413, "request body too large");
      if (ec == bhttp::error::header_limit) {
        return SendError(431, "request header fields too large");
      }
      if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message ||
          ec == net::error::eof || ec == net::error::connection_reset ||
          ec == net::error::operation_aborted || ec == net::error::broken_pipe) {
        return Close();
      }
      return SendError(400, "malformed HTTP request: " + ec.message());
    }
    DisarmTimer();
    auto& msg = parser_->get();
    auto request = HeaderRequest();
    request->body = std::move(msg.body());
    const bool keep_alive = msg.keep_alive();
    const unsigned version = msg.version();
    const bool head = msg.method() == bhttp::verb::head;
    ResetParser();
    WipeBuffer();
    if (Status st = ParseTarget(request.get()); !st.ok()) {
      WipeRequest(request.get());
      return SendError(400, std::string(st.message()));
    }
    net::post(*impl_->workers, [self = shared_from_this(), request, keep_alive, version, head] {
      const auto start = Clock::now();
      std::string pattern;
      Response response = self->impl_->router.Dispatch(*request, &pattern);
      WipeRequest(request.get());
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      spdlog::info("http: {} {} {} {:.1f}ms", request->method,
                   pattern.empty() ? std::string("(no route)") : pattern, response.status, ms);
      net::post(self->socket_.get_executor(),
                [self, response = std::move(response), keep_alive, version, head]() mutable {
                  self->Write(std::move(response), keep_alive, version, head);
                });
    });
  }

  void SendError(int status, const std::string& message) {
    close_after_write_ = true;
    Write(JsonMessage(status, message), false, 11, false);
  }

  void Write(Response r, bool keep_alive, unsigned version, bool head) {
    if (closed_) {
      WipeString(r.body);
      if (after_write_) std::exchange(after_write_, nullptr)();
      return;
    }
    const bool bodiless = r.status / 100 == 1 || r.status == 204 || r.status == 304;
    if (r.source && !head && !bodiless) return WriteFromSource(std::move(r), keep_alive, version);
    res_.emplace();
    res_->version(version);
    res_->result(static_cast<unsigned>(r.status));
    if (impl_->options.common_headers) {
      for (const auto& [k, v] : impl_->options.common_headers()) res_->set(k, v);
    }
    for (const auto& [k, v] : r.headers) res_->set(k, v);
    if (res_->find(bhttp::field::date) == res_->end()) res_->set(bhttp::field::date, HttpDate());
    // HEAD of a streamed body: its headers, with the length the body would have.
    const uint64_t length = r.source ? r.source->Size() : r.body.size();
    r.source.reset();
    if (bodiless) {
      WipeString(r.body);
    } else {
      if (length > 0 && res_->find(bhttp::field::content_type) == res_->end()) {
        res_->set(bhttp::field::content_type, "application/json");
      }
      res_->content_length(length);
      if (head) {
        WipeString(r.body);
      } else {
        res_->body() = std::move(r.body);
      }
    }
    res_->keep_alive(keep_alive && !close_after_write_ && !impl_->stopping);
    ArmTimer(impl_->options.read_timeout);  // a client that never reads its response
    bhttp::async_write(socket_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnWrite(ec);
    });
  }

  void OnWrite(beast::error_code ec) {
    DisarmTimer();
    const bool close = !res_->keep_alive() || close_after_write_;
    WipeString(res_->body());
    res_.reset();
    if (after_write_) std::exchange(after_write_, nullptr)();
    if (ec || close) return Close();
    WaitForNextRequest();
  }

  // ---- A body written from a BodySource: the headers (as Write's, the source's size as the
  // Content-Length), then one piece at a time, each rendered once the previous one is on the
  // socket. Nothing waits on the client but the socket: no thread, no lock; a client that
  // stops reading for read_timeout is closed, and one that goes away ends the body early.
  static constexpr size_t kPieceBytes = 64 * 1024;

  void WriteFromSource(Response r, bool keep_alive, unsigned version) {
    source_res_.emplace();
    auto& res = *source_res_;
    res.version(version);
    res.result(static_cast<unsigned>(r.status));
    if (impl_->options.common_headers) {
      for (const auto& [k, v] : impl_->options.common_headers()) res.set(k, v);
    }
    for (const auto& [k, v] : r.headers) res.set(k, v);
    if (res.find(bhttp::field::date) == res.end()) res.set(bhttp::field::date, HttpDate());
    source_left_ = r.source->Size();
    if (source_left_ > 0 && res.find(bhttp::field::content_type) == res.end()) {
      res.set(bhttp::field::content_type, "application/json");
    }
    res.content_length(source_left_);
    res.keep_alive(keep_alive && !close_after_write_ && !impl_->stopping);
    res.body().data = nullptr;
    res.body().more = true;
    source_ = std::move(r.source);
    source_sr_.emplace(res);
    ArmTimer(impl_->options.read_timeout);
    bhttp::async_write_header(
        socket_, *source_sr_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnSourceWrite(ec); });
  }

  // The previous piece (or the headers) is written: the next piece, or the end.
  void OnSourceWrite(beast::error_code ec) {
    DisarmTimer();
    if (ec == bhttp::error::need_buffer) ec = {};  // the piece is out; the serializer wants more
    if (ec || closed_) return EndSource(ec ? ec : net::error::operation_aborted);
    if (source_sr_->is_done()) return EndSource({});
    piece_.clear();
    try {
      if (source_left_ > 0) source_->Next(kPieceBytes, &piece_);
    } catch (const std::exception& e) {
      spdlog::error("http: rendering a response body: {}", e.what());
      return EndSource(net::error::operation_aborted);
    }
    if (piece_.size() > source_left_ || (piece_.empty() && source_left_ > 0)) {
      spdlog::error("http: a response body source broke its size ({} bytes left, piece of {})",
                    source_left_, piece_.size());
      return EndSource(net::error::operation_aborted);
    }
    source_left_ -= piece_.size();
    auto& body = source_res_->body();
    body.data = piece_.empty() ? nullptr : piece_.data();
    body.size = piece_.size();
    body.more = !piece_.empty();
    ArmTimer(impl_->options.read_timeout);
    bhttp::async_write(
        socket_, *source_sr_,
        [self = shared_from_this()](beast::error_code e, size_t) { self->OnSourceWrite(e); });
  }

  // The body is out (or cut short by `ec`): frees the source (and with it its snapshot), then
  // as OnWrite.
  void EndSource(beast::error_code ec) {
    const bool close = ec || !source_res_->keep_alive() || close_after_write_;
    source_sr_.reset();
    source_res_.reset();
    source_.reset();
    std::string().swap(piece_);
    if (after_write_) std::exchange(after_write_, nullptr)();
    if (close) return Close();
    WaitForNextRequest();
  }

  // ---- Streaming routes. The handler's thread calls the blocking methods of the two
  // adapters below; each posts its I/O to the strand and waits for the completion.
  using Done = std::function<void(beast::error_code, size_t, bool)>;

  class SessionBody : public BodyReader {
   public:
    explicit SessionBody(Session* s) : s_(s), buf_(64 * 1024) {}
    StatusOr<std::string_view> Next() override {
      while (!done_) {
        std::promise<std::tuple<beast::error_code, size_t, bool>> p;
        auto f = p.get_future();
        net::post(s_->socket_.get_executor(), [this, &p] {
          s_->ReadBodySome(buf_.data(), buf_.size(),
                           [&p](beast::error_code ec, size_t n, bool done) {
                             p.set_value({ec, n, done});
                           });
        });
        auto [ec, n, done] = f.get();
        if (ec) return absl::UnavailableError("reading the request body: " + ec.message());
        done_ = done;
        if (n > 0) return std::string_view(buf_.data(), n);
      }
      return std::string_view();
    }

   private:
    Session* s_;
    std::vector<char> buf_;
    bool done_ = false;
  };

  class SessionStream : public ResponseStream {
   public:
    explicit SessionStream(Session* s) : s_(s) {}
    bool Begin(int status,
               const std::vector<std::pair<std::string, std::string>>& headers) override {
      if (begun_) return false;
      begun_ = true;
      status_ = status;
      return Run([&](Done done) { s_->BeginStream(status, headers, std::move(done)); });
    }
    bool Write(std::string_view data) override {
      if (!begun_) return false;
      if (data.empty()) return !s_->client_gone_;
      return Run([&](Done done) { s_->WriteChunk(data, std::move(done)); });
    }
    bool ClientGone() const override { return s_->client_gone_; }
    void End() {
      Run([&](Done done) { s_->WriteChunk(std::string_view(), std::move(done)); });
    }
    bool begun() const { return begun_; }
    int status() const { return status_; }

   private:
    template <class Op>
    bool Run(Op op) {
      std::promise<beast::error_code> p;
      auto f = p.get_future();
      net::post(s_->socket_.get_executor(),
                [&] { op([&p](beast::error_code ec, size_t, bool) { p.set_value(ec); }); });
      const bool ok = !f.get();
      if (!ok) s_->client_gone_ = true;
      return ok;
    }
    Session* s_;
    bool begun_ = false;
    int status_ = 0;
  };

  void StartStream(std::shared_ptr<Request> request, const StreamHandler* handler, Params params,
                   std::string pattern) {
    if (!impl_->TryAcquireStream()) {
      ResetParser();
      return SendError(503, "too many streaming requests");
    }
    DisarmTimer();
    const unsigned version = parser_->get().version();
    body_parser_.emplace(std::move(*parser_));
    parser_.reset();
    body_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    ServerCore* core = impl_;
    std::thread([self = shared_from_this(), core, request, handler, params = std::move(params),
                 pattern = std::move(pattern), version]() mutable {
      self->RunStream(*request, *handler, params, pattern, version);
      WipeRequest(request.get());
      self.reset();  // before the release: Stop may then tear the server down
      core->ReleaseStream();
    }).detach();
  }

  // On the handler's own thread.
  void RunStream(const Request& request, const StreamHandler& handler, const Params& params,
                 const std::string& pattern, unsigned version) {
    const auto start = Clock::now();
    SessionBody body(this);
    SessionStream out(this);
    Response response = Router::RunStream(handler, request, params, body, out);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    spdlog::info("http: {} {} {} {:.1f}ms", request.method, pattern,
                 out.begun() ? out.status() : response.status, ms);
    if (out.begun()) {
      out.End();
      return PostClose();
    }
    // The connection is not reused: the handler may have left part of the body unread.
    std::promise<void> written;
    auto f = written.get_future();
    net::post(socket_.get_executor(), [this, &response, version, &written] {
      close_after_write_ = true;
      after_write_ = [&written] { written.set_value(); };
      Write(std::move(response), false, version, false);
    });
    f.wait();
  }

  void ReadBodySome(char* buf, size_t n, Done done) {
    if (closed_) return done(net::error::operation_aborted, 0, false);
    if (body_parser_->is_done()) return done({}, 0, true);
    auto& b = body_parser_->get().body();
    b.data = buf;
    b.size = n;
    b.more = true;
    ArmTimer(impl_->options.read_timeout);
    bhttp::async_read_some(socket_, buffer_, *body_parser_,
                           [self = shared_from_this(), n, done](beast::error_code ec, size_t) {
                             self->DisarmTimer();
                             if (ec == bhttp::error::need_buffer) ec = {};
                             if (!ec && self->closed_) ec = net::error::operation_aborted;
                             const size_t got = n - self->body_parser_->get().body().size;
                             done(ec, got, !ec && self->body_parser_->is_done());
                           });
  }

  void BeginStream(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                   Done done) {
    if (closed_) return done(net::error::operation_aborted, 0, false);
    stream_res_.emplace();
    stream_res_->version(11);
    stream_res_->result(static_cast<unsigned>(status));
    if (impl_->options.common_headers) {
      for (const auto& [k, v] : impl_->options.common_headers()) stream_res_->set(k, v);
    }
    for (const auto& [k, v] : headers) stream_res_->set(k, v);
    stream_res_->set(bhttp::field::date, HttpDate());
    stream_res_->chunked(true);
    stream_res_->keep_alive(false);
    stream_sr_.emplace(*stream_res_);
    ArmTimer(impl_->options.read_timeout);
    bhttp::async_write_header(socket_, *stream_sr_,
                              [self = shared_from_this(), done](beast::error_code ec, size_t) {
                                self->DisarmTimer();
                                if (!ec) self->WatchForHangup();
                                done(ec, 0, false);
                              });
  }

  // While a response streams (and the body is consumed), any readable event on the socket
  // is the client closing: followers then stop.
  void WatchForHangup() {
    if (!body_parser_ || !body_parser_->is_done()) return;
    socket_.async_wait(
        stream_protocol::socket::wait_read,
        [self = shared_from_this()](beast::error_code) { self->client_gone_ = true; });
  }

  // One chunk; an empty view writes the last chunk.
  void WriteChunk(std::string_view data, Done done) {
    if (closed_) return done(net::error::operation_aborted, 0, false);
    ArmTimer(impl_->options.read_timeout);
    auto cb = [self = shared_from_this(), done](beast::error_code ec, size_t n) {
      self->DisarmTimer();
      done(ec, n, false);
    };
    if (data.empty()) {
      net::async_write(socket_, bhttp::make_chunk_last(), cb);
    } else {
      net::async_write(socket_, bhttp::make_chunk(net::const_buffer(data.data(), data.size())), cb);
    }
  }

  ServerCore* impl_;
  stream_protocol::socket socket_;
  net::steady_timer timer_;
  const std::optional<PeerCredentials> peer_;  // of the connection, read once at accept
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<WipingStringBody>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  std::optional<bhttp::request_parser<bhttp::buffer_body>> body_parser_;
  std::optional<bhttp::response<bhttp::empty_body>> stream_res_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> stream_sr_;
  std::optional<bhttp::response<bhttp::buffer_body>> source_res_;  // a body from a BodySource
  std::optional<bhttp::response_serializer<bhttp::buffer_body>> source_sr_;
  std::shared_ptr<BodySource> source_;
  uint64_t source_left_ = 0;  // bytes the source still owes
  std::string piece_;         // the piece being written
  std::atomic<bool> client_gone_{false};
  std::function<void()> after_write_;  // a streaming handler waiting for its plain answer
  bool closed_ = false;
  bool timed_out_ = false;
  bool close_after_write_ = false;
};

void ServerCore::DoAccept() {
  acceptor.async_accept(
      net::make_strand(ioc), [this](beast::error_code ec, stream_protocol::socket socket) {
        if (ec == net::error::operation_aborted || stopping) return;
        if (ec) {
          spdlog::warn("http: accept on {}: {}", options.socket_path, ec.message());
          accept_retry.expires_after(std::chrono::milliseconds(100));
          accept_retry.async_wait([this](beast::error_code wait_ec) {
            if (!wait_ec && !stopping) DoAccept();
          });
          return;
        }
        auto session = std::make_shared<Session>(this, std::move(socket));
        Register(session);
        session->Start();
        DoAccept();
      });
}

}  // namespace server_internal

struct Server::Impl : server_internal::ServerCore {
  using server_internal::ServerCore::ServerCore;
};

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() { Stop(); }

namespace {

bool ValidSocketPath(const std::string& path) {
  return !path.empty() && path.size() < sizeof(sockaddr_un::sun_path);
}

// An exclusive flock on the directory of the socket at `path`, held while the socket is
// checked, replaced and bound: two servers starting at once cannot both take the place of a
// stale socket (the second would unlink the first's).
StatusOr<UniqueFd> LockSocketDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", dir, errno);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoStatus("lock", dir, errno);
  }
  return fd;
}

// Binds `acceptor` to a socket that appears at `path` already with `mode` (and `gid`): it is
// bound in a fresh 0700 directory beside `path` (mkdtemp: same filesystem, nobody else may
// traverse it, so nobody can connect meanwhile), chmod/chowned there, then renamed into
// place (no replace: a file that appeared meanwhile is an error). Not umask around bind: the
// umask is process-wide, and a file another thread creates at that moment would get it; nor
// fchmod, which does not apply to a socket's file. A directory left by a crash between mkdtemp
// and rmdir holds at most a dead socket, unreachable by others.
Status BindWithFinalMode(net::local::stream_protocol::acceptor& acceptor, const std::string& path,
                         unsigned mode, int gid) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  std::string tmp = dir + "/.capsule-api-XXXXXX";
  if (::mkdtemp(tmp.data()) == nullptr) return ErrnoStatus("mkdtemp", tmp, errno);
  UniqueFd tmp_fd(::open(tmp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto fail = [&](const char* op, const std::string& what, int err) {
    if (tmp_fd.valid()) ::unlinkat(tmp_fd.get(), "s", 0);
    ::rmdir(tmp.c_str());
    return ErrnoStatus(op, what, err);
  };
  if (!tmp_fd.valid()) return fail("open", tmp, errno);
  // The private path can be longer than `path`; /proc/self/fd/N/s always fits.
  std::string bind_path = tmp + "/s";
  if (bind_path.size() >= sizeof(sockaddr_un::sun_path)) {
    bind_path = "/proc/self/fd/" + std::to_string(tmp_fd.get()) + "/s";
  }
  beast::error_code ec;
  acceptor.bind(stream_protocol::endpoint(bind_path), ec);
  if (ec) return fail("bind", path, ec.value());
  if (::fchmodat(tmp_fd.get(), "s", mode, 0) != 0) return fail("chmod", path, errno);
  if (gid >= 0 && ::fchownat(tmp_fd.get(), "s", static_cast<uid_t>(-1), static_cast<gid_t>(gid),
                             AT_SYMLINK_NOFOLLOW) != 0) {
    return fail("chown", path, errno);
  }
  if (::renameat2(tmp_fd.get(), "s", AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    return fail("rename", path, errno);
  }
  ::rmdir(tmp.c_str());
  return absl::OkStatus();
}

}  // namespace

Status CheckNotServed(const std::string& socket_path) {
  if (!ValidSocketPath(socket_path)) {
    return absl::InvalidArgumentError("invalid unix socket path length: " + socket_path);
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket", socket_path, errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (r != 0 && errno == EINTR);
  // Refused: a socket file whose server is gone (a crash, kill -9). No file: nothing there.
  if (r != 0 && (errno == ECONNREFUSED || errno == ENOENT)) return absl::OkStatus();
  // Accepted, or the server's backlog is full: it is alive.
  if (r == 0 || errno == EAGAIN) {
    return absl::FailedPreconditionError(
        socket_path +
        " is served by a running daemon: not taking it over (stop that daemon "
        "first, or use another socket)");
  }
  return ErrnoStatus("connect", socket_path, errno);
}

Status Server::Start() {
  Impl& s = *impl_;
  if (s.started) return absl::FailedPreconditionError("http server already started");
  const std::string& path = s.options.socket_path;
  if (!ValidSocketPath(path)) {
    return absl::InvalidArgumentError("invalid unix socket path length: " + path);
  }
  ASSIGN_OR_RETURN(UniqueFd dir_lock, LockSocketDir(path));
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(path + " exists and is not a socket");
    }
    // Another daemon's live socket is never replaced (nor removed); a stale one is.
    RETURN_IF_ERROR(CheckNotServed(path));
    if (::unlink(path.c_str()) != 0) return ErrnoStatus("unlink", path, errno);
  } else if (errno != ENOENT) {
    return ErrnoStatus("stat", path, errno);
  }
  beast::error_code ec;
  s.acceptor.open(stream_protocol(), ec);
  if (ec) return ErrnoStatus("socket", path, ec.value());
  if (Status bound =
          BindWithFinalMode(s.acceptor, path, s.options.socket_mode, s.options.socket_gid);
      !bound.ok()) {
    s.acceptor.close(ec);
    return bound;
  }
  auto fail = [&](const char* op, int err) {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    ::unlink(path.c_str());
    return ErrnoStatus(op, path, err);
  };
  s.acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen", ec.value());

  s.work.emplace(net::make_work_guard(s.ioc));
  s.workers = std::make_unique<net::thread_pool>(std::max(1, s.options.worker_threads));
  for (int i = 0; i < std::max(1, s.options.io_threads); ++i) {
    s.threads.emplace_back([&s] { s.RunIo(); });
  }
  net::post(s.acceptor.get_executor(), [&s] { s.DoAccept(); });
  s.started = true;
  spdlog::info("http: listening on unix://{}", path);
  return absl::OkStatus();
}

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  net::post(s.acceptor.get_executor(), [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
    s.accept_retry.cancel();
  });
  std::vector<std::shared_ptr<server_internal::Session>> live;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto& [ptr, weak] : s.sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) session->PostClose();
  live.clear();        // outside the lock: the last owner's destructor takes it
  s.workers->join();   // running handlers finish; their writes see a closed connection
  s.WaitForStreams();  // streaming handlers see errors from their closed connections
  s.work.reset();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  ::unlink(s.options.socket_path.c_str());
}

}  // namespace capsule::http
