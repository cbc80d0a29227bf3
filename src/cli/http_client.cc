#include "cli/http_client.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <limits>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/secret_bytes.h"

namespace capsule::cli {
namespace {

namespace http = boost::beast::http;
using Socket = boost::asio::local::stream_protocol::socket;

constexpr size_t kMaxResponseBody = size_t{256} << 20;
constexpr size_t kStreamChunk = 64 * 1024;
constexpr char kUserAgent[] = "capsule-cli/0.1";

Status ConnectError(const DaemonHost& host, const boost::system::error_code& ec) {
  if (ec == boost::asio::error::access_denied || ec == boost::asio::error::no_permission) {
    return absl::PermissionDeniedError(
        absl::StrCat("permission denied while trying to connect to the Capsule daemon socket at ",
                     host.url, ": connect: permission denied"));
  }
  return absl::UnavailableError(
      absl::StrCat("Cannot connect to the Capsule daemon at ", host.url, ". Is capsuled running?"));
}

Status SendError(const DaemonHost& host, const boost::system::error_code& ec) {
  return absl::UnavailableError(
      absl::StrCat("error during connect: sending request to ", host.url, ": ", ec.message()));
}

Status ReadError(const DaemonHost& host, const boost::system::error_code& ec) {
  return absl::UnavailableError(
      absl::StrCat("error reading response from ", host.url, ": ", ec.message()));
}

std::string Target(const HttpRequest& request) {
  std::string target = absl::StrCat("/v", kApiVersion, request.path);
  std::vector<std::pair<std::string, std::string>> all(request.query.begin(), request.query.end());
  all.insert(all.end(), request.query_list.begin(), request.query_list.end());
  // Go's url.Values.Encode: sorted by key; the values of one key keep their order.
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string query;
  for (const auto& [key, value] : all) {
    if (!query.empty()) query += '&';
    absl::StrAppend(&query, QueryEscape(key), "=", QueryEscape(value));
  }
  if (!query.empty()) absl::StrAppend(&target, "?", query);
  return target;
}

// A connected socket with the request written; the caller reads the answer.
struct Exchange {
  boost::asio::io_context ioc;
  std::optional<Socket> socket;
  http::verb verb = http::verb::unknown;
};

Status WriteChunked(const DaemonHost& host, Socket& socket, http::request<http::empty_body>& req,
                    const HttpRequest& request) {
  boost::system::error_code ec;
  req.chunked(true);
  http::request_serializer<http::empty_body> sr{req};
  http::write_header(socket, sr, ec);
  if (ec) return SendError(host, ec);
  std::string buf(kStreamChunk, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, request.body_reader(buf.data(), buf.size()));
    if (n == 0) break;
    boost::asio::write(socket, http::make_chunk(boost::asio::buffer(buf.data(), n)), ec);
    if (ec) return SendError(host, ec);
  }
  boost::asio::write(socket, http::make_chunk_last(), ec);
  if (ec) return SendError(host, ec);
  return absl::OkStatus();
}

Status Send(const DaemonHost& host, const HttpRequest& request, Exchange& ex) {
  ex.verb = http::string_to_verb(request.method);
  if (ex.verb == http::verb::unknown) {
    return absl::InvalidArgumentError(absl::StrCat("unknown HTTP method ", request.method));
  }
  // sockaddr_un holds 108 bytes including the terminating NUL; Asio throws beyond that.
  if (host.socket_path.size() >= 108) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path too long (max 107 bytes): ", host.socket_path));
  }
  ex.socket.emplace(ex.ioc);
  boost::system::error_code ec;
  ex.socket->connect(boost::asio::local::stream_protocol::endpoint(host.socket_path), ec);
  if (ec) return ConnectError(host, ec);

  auto set_common = [&](auto& req) {
    req.set(http::field::host, "api.moby.localhost");
    req.set(http::field::user_agent, kUserAgent);
    req.set(http::field::connection, "close");
  };
  if (request.body_reader) {
    http::request<http::empty_body> req{ex.verb, Target(request), 11};
    set_common(req);
    req.set(http::field::content_type,
            request.content_type.empty() ? "application/octet-stream" : request.content_type);
    return WriteChunked(host, *ex.socket, req, request);
  }
  http::request<http::string_body> req{ex.verb, Target(request), 11};
  set_common(req);
  if (!request.body.empty()) {
    req.set(http::field::content_type,
            request.content_type.empty() ? "application/json" : request.content_type);
    req.body() = request.body;
  }
  req.prepare_payload();
  http::write(*ex.socket, req, ec);
  WipeString(req.body());
  if (ec) return SendError(host, ec);
  return absl::OkStatus();
}

template <typename Message>
void CopyHeaders(const Message& res, HttpResponse& out) {
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
}

StatusOr<HttpResponse> DoUnsafe(const DaemonHost& host, const HttpRequest& request) {
  Exchange ex;
  RETURN_IF_ERROR(Send(host, request, ex));
  boost::system::error_code ec;
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  // A HEAD answer carries Content-Length without a body.
  parser.skip(ex.verb == http::verb::head);
  http::read(*ex.socket, buffer, parser, ec);
  if (ec) return ReadError(host, ec);
  http::response<http::string_body> res = parser.release();
  HttpResponse out;
  CopyHeaders(res, out);
  out.body = std::move(res.body());
  boost::system::error_code ignored;
  ex.socket->shutdown(Socket::shutdown_both, ignored);
  return out;
}

StatusOr<HttpResponse> StreamUnsafe(const DaemonHost& host, const HttpRequest& request,
                                    const BodySink& sink) {
  Exchange ex;
  RETURN_IF_ERROR(Send(host, request, ex));
  boost::system::error_code ec;
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  // A followed log has no end. (Not boost::none: Boost 1.74 compares a Content-Length
  // against an empty optional as "greater" and fails every response that has one.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.skip(ex.verb == http::verb::head);
  http::read_header(*ex.socket, buffer, parser, ec);
  if (ec) return ReadError(host, ec);
  HttpResponse out;
  CopyHeaders(parser.get(), out);
  const bool ok = out.status >= 200 && out.status <= 299;
  std::string chunk(kStreamChunk, '\0');
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    http::read_some(*ex.socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    const size_t n = chunk.size() - parser.get().body().size;
    if (n > 0) {
      std::string_view data(chunk.data(), n);
      if (!ok) {
        if (out.body.size() + n > kMaxResponseBody) return ReadError(host, http::error::body_limit);
        out.body.append(data);
      } else {
        RETURN_IF_ERROR(sink(data));
      }
    }
    if (ec == http::error::end_of_stream || ec == boost::asio::error::eof) break;
    if (ec) return ReadError(host, ec);
  }
  boost::system::error_code ignored;
  ex.socket->shutdown(Socket::shutdown_both, ignored);
  return out;
}

}  // namespace

StatusOr<HttpResponse> HttpClient::Do(const HttpRequest& request) {
  // Asio and Beast may throw (allocation, system errors): stop exceptions at this edge.
  try {
    return DoUnsafe(host_, request);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("HTTP client: ", e.what()));
  }
}

StatusOr<HttpResponse> HttpClient::Stream(const HttpRequest& request, const BodySink& sink) {
  try {
    return StreamUnsafe(host_, request, sink);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("HTTP client: ", e.what()));
  }
}

}  // namespace capsule::cli
