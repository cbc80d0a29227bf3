// NewHttpTransport (declared in http_transport.h): Boost.Beast over Asio, OpenSSL for TLS.
// Boost throws only through the error_code overloads' absence; every call here uses
// error codes, and anything else thrown is caught at Do's edge.
#include "agent/registry/http_transport.h"

#include <dirent.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <limits>

namespace capsule::agent::registry {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

constexpr int kIoTimeoutSeconds = 60;

struct Url {
  bool tls = true;
  std::string host;  // without brackets
  std::string port;
  std::string host_port;  // as written in the URL ("127.0.0.1:5000")
  std::string target;     // "/v2/..."
};

StatusOr<Url> ParseUrl(const std::string& url) {
  Url u;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    u.tls = false;
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError("unsupported URL \"" + url + "\"");
  }
  const size_t slash = rest.find('/');
  u.host_port = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string hp = u.host_port;
  if (const size_t at = hp.rfind('@'); at != std::string::npos) hp = hp.substr(at + 1);
  if (!hp.empty() && hp[0] == '[') {
    const size_t close = hp.find(']');
    if (close == std::string::npos) return absl::InvalidArgumentError("bad URL \"" + url + "\"");
    u.host = hp.substr(1, close - 1);
    if (close + 1 < hp.size() && hp[close + 1] == ':') u.port = hp.substr(close + 2);
  } else if (const size_t colon = hp.rfind(':'); colon != std::string::npos) {
    u.host = hp.substr(0, colon);
    u.port = hp.substr(colon + 1);
  } else {
    u.host = hp;
  }
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  if (u.host.empty()) return absl::InvalidArgumentError("bad URL \"" + url + "\"");
  return u;
}

std::string OpName(const std::string& method) {
  std::string op = method;
  for (size_t i = 1; i < op.size(); ++i) {
    op[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(op[i])));
  }
  return op;
}

std::string OpenSslReason() {
  const unsigned long e = ERR_get_error();  // NOLINT(runtime/int): OpenSSL's type
  if (e == 0) return "";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// An errno text as Go prints it ("connection refused", not "Connection refused").
std::string GoText(const beast::error_code& ec) {
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

void SetIoTimeouts(int fd) {
  timeval tv{kIoTimeoutSeconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

template <typename Stream>
StatusOr<HttpResponse> Exchange(Stream& stream, const Url& url, const HttpRequest& request,
                                const BodySink* sink, size_t body_limit, const std::string& where) {
  bhttp::request<bhttp::empty_body> req;
  req.method_string(request.method);
  req.target(url.target);
  req.version(11);
  req.set(bhttp::field::host, url.host_port);
  req.set(bhttp::field::user_agent, "capsule (docker-compatible)");
  req.set(bhttp::field::connection, "close");
  for (const auto& [k, v] : request.headers) req.set(k, v);
  beast::error_code ec;
  bhttp::write(stream, req, ec);
  if (ec) return absl::UnavailableError(where + ec.message());
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  // Our own limits apply below. Not boost::none: Boost 1.74 compares a Content-Length with the
  // empty optional as "greater" and fails every body with error::body_limit.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.skip(request.method == "HEAD");
  bhttp::read_header(stream, buffer, parser, ec);
  if (ec) return absl::UnavailableError(where + ec.message());
  HttpResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) {
    std::string name(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string& slot = out.headers[name];
    if (!slot.empty()) slot += ", ";
    slot.append(field.value().data(), field.value().size());
  }
  const bool to_sink = sink != nullptr && out.status >= 200 && out.status < 300;
  std::string chunk(64 << 10, '\0');
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    bhttp::read(stream, buffer, parser, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) return absl::UnavailableError(where + ec.message());
    const size_t n = chunk.size() - parser.get().body().size;
    if (n == 0) continue;
    const std::string_view piece(chunk.data(), n);
    if (to_sink) {
      RETURN_IF_ERROR((*sink)(piece));
    } else {
      if (out.body.size() + n > body_limit) {
        return absl::InvalidArgumentError(where + "response body larger than " +
                                          std::to_string(body_limit) + " bytes");
      }
      out.body.append(piece);
    }
  }
  return out;
}

class BeastTransport : public HttpTransport {
 public:
  explicit BeastTransport(std::string certs_dir) : certs_dir_(std::move(certs_dir)) {}

  StatusOr<HttpResponse> Do(const HttpRequest& request, const BodySink* sink,
                            size_t body_limit) override {
    try {
      return DoOrThrow(request, sink, body_limit);
    } catch (const std::exception& e) {
      return absl::UnavailableError(OpName(request.method) + " \"" + request.url +
                                    "\": " + e.what());
    }
  }

 private:
  StatusOr<HttpResponse> DoOrThrow(const HttpRequest& request, const BodySink* sink,
                                   size_t body_limit) {
    ASSIGN_OR_RETURN(Url url, ParseUrl(request.url));
    const std::string where = OpName(request.method) + " \"" + request.url + "\": ";
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::error_code ec;
    auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) {
      return absl::UnavailableError(where + "dial tcp: lookup " + url.host + ": " + GoText(ec));
    }
    tcp::socket socket(io);
    asio::connect(socket, endpoints, ec);
    if (ec) {
      return absl::UnavailableError(where + "dial tcp " + url.host + ":" + url.port +
                                    ": connect: " + GoText(ec));
    }
    SetIoTimeouts(socket.native_handle());
    if (!url.tls) return Exchange(socket, url, request, sink, body_limit, where);

    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_default_verify_paths(ec);
    RETURN_IF_ERROR(AddRegistryCerts(ctx, url.host_port));
    ctx.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<tcp::socket> stream(std::move(socket), ctx);
    SSL* ssl = stream.native_handle();
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (IsIpLiteral(url.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, url.host.c_str());
      X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), 0);
    }
    stream.handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      const long verify = SSL_get_verify_result(ssl);  // NOLINT(runtime/int): OpenSSL's type
      std::string reason = verify != X509_V_OK
                               ? std::string("x509: ") + X509_verify_cert_error_string(verify)
                               : ec.message();
      return absl::UnavailableError(where + reason);
    }
    // No TLS close_notify exchange afterwards: the response is complete (its length is known)
    // and waiting for the peer's close_notify could only stall; the socket just closes.
    return Exchange(stream, url, request, sink, body_limit, where);
  }

  // Docker's certs.d: CAs (*.crt) and a client key pair (*.cert + *.key) for this registry.
  Status AddRegistryCerts(asio::ssl::context& ctx, const std::string& host_port) {
    if (certs_dir_.empty()) return absl::OkStatus();
    const std::string dir = certs_dir_ + "/" + host_port;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return absl::OkStatus();
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      auto ends = [&n](const std::string& s) {
        return n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0;
      };
      beast::error_code ec;
      if (ends(".crt")) {
        ctx.load_verify_file(dir + "/" + n, ec);
        if (ec)
          return absl::InvalidArgumentError("loading " + dir + "/" + n + ": " + OpenSslReason());
      } else if (ends(".cert")) {
        const std::string key = dir + "/" + n.substr(0, n.size() - 5) + ".key";
        ctx.use_certificate_chain_file(dir + "/" + n, ec);
        if (!ec) ctx.use_private_key_file(key, asio::ssl::context::pem, ec);
        if (ec) {
          return absl::InvalidArgumentError("loading client certificate " + dir + "/" + n +
                                            ": missing or bad key " + key);
        }
      }
    }
    return absl::OkStatus();
  }

  const std::string certs_dir_;
};

}  // namespace

std::unique_ptr<HttpTransport> NewHttpTransport(const std::string& certs_dir) {
  return std::make_unique<BeastTransport>(certs_dir);
}

}  // namespace capsule::agent::registry
