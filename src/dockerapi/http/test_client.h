// A plain POSIX client of the HTTP server on a unix socket, for the server's tests: it sends raw
// bytes and reads raw responses, so a test sees exactly the bytes on the wire. Header-only,
// tests only; not thread-safe.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace capsule::http {

struct WireResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

class Client {
 public:
  explicit Client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; nullopt on EOF/reset/timeout before it is complete.
  std::optional<WireResponse> Read(bool head = false, int timeout_ms = 10000) {
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(timeout_ms)) return std::nullopt;
    }
    WireResponse r;
    const std::string head_text = buf_.substr(0, header_end);
    buf_.erase(0, header_end + 4);
    size_t line_end = head_text.find("\r\n");
    const std::string status_line = head_text.substr(0, line_end);
    r.status = std::atoi(status_line.substr(status_line.find(' ') + 1).c_str());
    while (line_end != std::string::npos) {
      const size_t next = head_text.find("\r\n", line_end + 2);
      const std::string line = head_text.substr(line_end + 2, next - line_end - 2);
      const size_t colon = line.find(':');
      std::string key = line.substr(0, colon);
      for (char& c : key) c = static_cast<char>(std::tolower(c));
      r.headers[key] = line.substr(line.find_first_not_of(' ', colon + 1));
      line_end = next;
    }
    size_t length = 0;
    if (!head && r.headers.count("content-length")) {
      length = std::stoul(r.headers["content-length"]);
    }
    while (buf_.size() < length) {
      if (!Fill(timeout_ms)) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True if the server closes the connection (EOF or reset) within the timeout, with no
  // further bytes first.
  bool ClosedWithoutData(int timeout_ms = 10000) {
    const bool more = Fill(timeout_ms);
    return !more && eof_;
  }

  bool HasPendingData() {
    pollfd p{fd_, POLLIN, 0};
    return !buf_.empty() || (::poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
  }

  int fd() const { return fd_; }

  // Exactly n more bytes of the stream (whatever framing they are); nullopt if the
  // connection ends or stalls first.
  std::optional<std::string> ReadExactly(size_t n, int timeout_ms = 10000) {
    while (buf_.size() < n) {
      if (!Fill(timeout_ms)) return std::nullopt;
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  // Everything up to and including `marker` (raw bytes, e.g. a chunked body's end).
  std::optional<std::string> ReadUntil(const std::string& marker, int timeout_ms = 10000) {
    size_t at;
    while ((at = buf_.find(marker)) == std::string::npos) {
      if (!Fill(timeout_ms)) return std::nullopt;
    }
    std::string out = buf_.substr(0, at + marker.size());
    buf_.erase(0, at + marker.size());
    return out;
  }

 private:
  bool Fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return false;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) {
      eof_ = n == 0 || errno == ECONNRESET;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

}  // namespace capsule::http
