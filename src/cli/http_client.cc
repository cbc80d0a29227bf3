#include "cli/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/secret_bytes.h"

namespace capsule::cli {
namespace {

namespace http = boost::beast::http;
using Socket = boost::asio::local::stream_protocol::socket;

constexpr size_t kMaxResponseBody = size_t{256} << 20;
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

std::string Target(const HttpRequest& request) {
  std::string target = absl::StrCat("/v", kApiVersion, request.path);
  std::string query = EncodeQuery(request.query);
  if (!query.empty()) absl::StrAppend(&target, "?", query);
  return target;
}

StatusOr<HttpResponse> DoUnsafe(const DaemonHost& host, const HttpRequest& request) {
  const http::verb verb = http::string_to_verb(request.method);
  if (verb == http::verb::unknown) {
    return absl::InvalidArgumentError(absl::StrCat("unknown HTTP method ", request.method));
  }
  // sockaddr_un holds 108 bytes including the terminating NUL; Asio throws beyond that.
  if (host.socket_path.size() >= 108) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path too long (max 107 bytes): ", host.socket_path));
  }

  boost::asio::io_context ioc;
  Socket socket(ioc);
  boost::system::error_code ec;
  socket.connect(boost::asio::local::stream_protocol::endpoint(host.socket_path), ec);
  if (ec) return ConnectError(host, ec);

  http::request<http::string_body> req{verb, Target(request), 11};
  req.set(http::field::host, "api.moby.localhost");
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::connection, "close");
  if (!request.body.empty()) {
    req.set(http::field::content_type,
            request.content_type.empty() ? "application/json" : request.content_type);
    req.body() = request.body;
  }
  req.prepare_payload();
  http::write(socket, req, ec);
  WipeString(req.body());
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("error during connect: sending request to ", host.url, ": ", ec.message()));
  }

  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  // A HEAD answer carries Content-Length without a body.
  parser.skip(verb == http::verb::head);
  http::read(socket, buffer, parser, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("error reading response from ", host.url, ": ", ec.message()));
  }
  http::response<http::string_body> res = parser.release();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& field : res) {
    out.headers[absl::AsciiStrToLower(std::string(field.name_string()))] =
        std::string(field.value());
  }
  boost::system::error_code ignored;
  socket.shutdown(Socket::shutdown_both, ignored);
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

}  // namespace capsule::cli
