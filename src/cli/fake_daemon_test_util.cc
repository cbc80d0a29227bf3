#include "cli/fake_daemon_test_util.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "cli/app.h"

namespace capsule::cli::testing {
namespace {

namespace http = boost::beast::http;
using Socket = boost::asio::local::stream_protocol::socket;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string QueryUnescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

FakeDaemon::FakeDaemon() {
  char tmpl[] = "/tmp/capsule-cli-test-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  socket_path_ = dir_ + "/d.sock";
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket_path_.c_str(), sizeof(addr.sun_path) - 1);
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listen_fd_, 16) != 0) {
    throw std::runtime_error("bind/listen failed");
  }
  thread_ = std::thread([this] { Serve(); });
}

FakeDaemon::~FakeDaemon() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  shutdown(listen_fd_, SHUT_RDWR);  // wakes accept() with an error
  thread_.join();
  close(listen_fd_);
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void FakeDaemon::On(const std::string& method, const std::string& path, CannedResponse response) {
  std::lock_guard<std::mutex> lock(mu_);
  routes_[method + " " + path] = Route{{std::move(response)}, 0};
}

void FakeDaemon::OnSequence(const std::string& method, const std::string& path,
                            std::vector<CannedResponse> responses) {
  std::lock_guard<std::mutex> lock(mu_);
  routes_[method + " " + path] = Route{std::move(responses), 0};
}

std::vector<RecordedRequest> FakeDaemon::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

void FakeDaemon::Serve() {
  boost::asio::io_context ioc;
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      continue;
    }
    Socket socket(ioc, boost::asio::local::stream_protocol(), fd);
    boost::system::error_code ec;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) continue;

    RecordedRequest rec;
    rec.method = std::string(req.method_string());
    rec.target = std::string(req.target());
    rec.body = req.body();
    for (const auto& f : req) {
      rec.headers[absl::AsciiStrToLower(std::string(f.name_string()))] = std::string(f.value());
    }
    std::string path = rec.target;
    if (size_t q = path.find('?'); q != std::string::npos) {
      for (absl::string_view kv : absl::StrSplit(path.substr(q + 1), '&')) {
        std::vector<std::string> parts = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        rec.query[QueryUnescape(parts[0])] = parts.size() > 1 ? QueryUnescape(parts[1]) : "";
      }
      path = path.substr(0, q);
    }
    if (path.rfind("/v1.", 0) == 0) path = path.substr(path.find('/', 1));
    rec.path = path;

    CannedResponse canned{404, "{\"message\":\"page not found\"}\n"};
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = routes_.find(rec.method + " " + path);
          it != routes_.end() && !it->second.responses.empty()) {
        Route& route = it->second;
        canned = route.responses[std::min(route.next, route.responses.size() - 1)];
        ++route.next;
      }
      requests_.push_back(rec);
    }
    http::response<http::string_body> res{static_cast<http::status>(canned.status), 11};
    res.keep_alive(false);
    res.set("Api-Version", "1.41");
    if (!canned.body.empty()) res.set(http::field::content_type, canned.content_type);
    res.body() = canned.body;
    res.prepare_payload();
    http::write(socket, res, ec);
    socket.shutdown(Socket::shutdown_both, ec);
  }
}

CliResult RunAgainst(const FakeDaemon& daemon, std::vector<std::string> args,
                     const std::string& stdin_data, const Clock* clock) {
  std::ostringstream out, err;
  std::istringstream in(stdin_data);
  args.insert(args.begin(), {"-H", daemon.url()});
  CliResult r;
  r.code = RunCli(args, CliIo{out, err, in}, clock != nullptr ? *clock : RealClock(),
                  [](const std::string&) { return std::nullopt; });
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace capsule::cli::testing

namespace capsule::cli::testing {

CliResult RunWithClock(const FakeDaemon& daemon, std::vector<std::string> args,
                       ::capsule::testing::FakeClock& clock) {
  std::ostringstream out, err;
  std::istringstream in;
  args.insert(args.begin(), {"-H", daemon.url()});
  CliResult r;
  r.code = RunCli(
      args, CliIo{out, err, in}, clock, [](const std::string&) { return std::nullopt; },
      [&clock](std::chrono::nanoseconds d) { clock.Advance(d); });
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace capsule::cli::testing
