#include "transport/swarm_front.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/unique_fd.h"
#include "transport/client_hello.h"
#include "transport/peer_addr.h"
#include "transport/tls_names.h"

namespace capsule::transport {
namespace {

constexpr size_t kPumpChunk = 16 << 10;

// "1.2.3.4:5" / "[::1]:5" → host, port.
bool SplitListenAddr(const std::string& addr, std::string* host, std::string* port) {
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) return false;
  *host = addr.substr(0, colon);
  *port = addr.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return !host->empty() && !port->empty();
}

// The textual IP of an accepted peer; an IPv4-mapped IPv6 address as IPv4.
std::string PeerText(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
    }
  }
  return text;
}

bool WouldBlock(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

class SwarmFront::Loop {
 public:
  Loop(UniqueFd listener, FrontLimits limits, FrontSinks sinks, const Clock& clock)
      : listener_(std::move(listener)),
        limits_(limits),
        sinks_(std::move(sinks)),
        clock_(clock),
        // Names in the abstract namespace are visible to every local user (/proc/net/unix):
        // a random tag, not an address of ours.
        unique_(absl::StrCat(getpid(), "x", absl::Hex(std::random_device()()))) {}

  Status Init() {
    epoll_.Reset(epoll_create1(EPOLL_CLOEXEC));
    wake_.Reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!epoll_.valid() || !wake_.valid()) {
      return absl::InternalError(absl::StrCat("swarm front: ", strerror(errno)));
    }
    Watch(listener_.get(), EPOLLIN, EPOLL_CTL_ADD, kListenerTag);
    Watch(wake_.get(), EPOLLIN, EPOLL_CTL_ADD, kWakeTag);
    return absl::OkStatus();
  }

  void Run() {
    epoll_event events[64];
    while (!stopping_) {
      int n = epoll_wait(epoll_.get(), events, 64, NextTimeoutMs());
      for (int i = 0; i < n && !stopping_; ++i) {
        const uint64_t tag = events[i].data.u64;
        if (tag == kListenerTag) {
          Accept();
        } else if (tag == kWakeTag) {
          stopping_ = true;
        } else if (auto it = conns_.find(tag / 2); it != conns_.end()) {
          // A connection closed earlier in this batch is gone from conns_, so its leftover
          // events are dropped here, even when its descriptor number is already reused.
          std::shared_ptr<Conn> conn = it->second;  // may be closed below
          if (conn->kind == Kind::kHello) {
            ReadHello(*conn);
          } else if (conn->kind == Kind::kParked) {
            Close(*conn);  // gave up waiting (hung up, or sent more than a ClientHello)
          } else if (events[i].events & EPOLLERR) {
            Close(*conn);  // a reset on either end ends the pump
          } else {
            Pump(*conn);
          }
        }
      }
      ExpireDeadlines();
    }
    while (!conns_.empty()) Close(*conns_.begin()->second);
  }

  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_.get(), &one, sizeof(one));
  }

  SwarmFront::Counts counts() const {
    return {authenticated_,    joins_,        over_unrouted_, hello_timeouts_,
            join_over_budget_, join_over_age_};
  }

 private:
  // kHello: awaiting its ClientHello; kParked: a join awaiting a slot; kPump: a join being
  // pumped; kDone: handed over or closed.
  enum class Kind { kHello, kParked, kPump, kDone };
  struct Conn {
    uint64_t id = 0;
    Kind kind = Kind::kHello;
    UniqueFd client;
    UniqueFd inner;  // kPump: the front's end of the pair
    std::string peer_ip;
    SteadyTime deadline;
    std::string to_inner;  // the ClientHello, then what the client sends
    std::string to_client;
    size_t inbound = 0;
    bool client_eof = false, inner_eof = false;
    bool inner_unwatched = false;
  };

  void SetKind(Conn& conn, Kind kind) {
    --count_[static_cast<int>(conn.kind)];
    ++count_[static_cast<int>(kind)];
    conn.kind = kind;
  }
  size_t Count(Kind kind) const { return count_[static_cast<int>(kind)]; }

  // Events carry a tag, not the descriptor: kListenerTag, kWakeTag, or a connection's ID × 2
  // (+ 1 for its inner end). IDs are never reused.
  static constexpr uint64_t kListenerTag = 0, kWakeTag = 1;
  void Watch(int fd, uint32_t events, int op, uint64_t tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    epoll_ctl(epoll_.get(), op, fd, &ev);
  }
  void WatchClient(const Conn& conn, uint32_t events, int op) {
    Watch(conn.client.get(), events, op, conn.id * 2);
  }
  void WatchInner(const Conn& conn, uint32_t events, int op) {
    Watch(conn.inner.get(), events, op, conn.id * 2 + 1);
  }

  int NextTimeoutMs() const {
    if (conns_.empty() && !listener_paused_until_) return -1;
    SteadyTime next = listener_paused_until_.value_or(SteadyTime::max());
    for (const auto& [id, conn] : conns_) next = std::min(next, conn->deadline);
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - clock_.SteadyNow());
    return static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 1000));
  }

  size_t Unrouted() const { return Count(Kind::kHello) + Count(Kind::kParked); }

  void Accept() {
    while (true) {
      sockaddr_storage ss{};
      socklen_t len = sizeof(ss);
      int fd = accept4(listener_.get(), reinterpret_cast<sockaddr*>(&ss), &len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors or memory: the listener would wake us at once, forever. Stop
          // watching it for a moment (deadlines meanwhile close connections and free some).
          Watch(listener_.get(), 0, EPOLL_CTL_MOD, kListenerTag);
          listener_paused_until_ = clock_.SteadyNow() + std::chrono::milliseconds(100);
        }
        return;  // EAGAIN: all accepted
      }
      UniqueFd client(fd);
      if (Unrouted() >= limits_.max_unrouted && !EvictOldestSilent()) {
        ++over_unrouted_;
        continue;  // closed: every waiting connection has sent its ClientHello
      }
      auto conn = std::make_shared<Conn>();
      conn->client = std::move(client);
      conn->peer_ip = PeerText(ss);
      conn->deadline = clock_.SteadyNow() + limits_.hello_timeout;
      conn->id = ++last_id_;
      conns_[conn->id] = conn;
      ++count_[static_cast<int>(Kind::kHello)];
      WatchClient(*conn, EPOLLIN | EPOLLRDHUP, EPOLL_CTL_ADD);
    }
  }

  // At the cap, the connection that has waited longest for its ClientHello makes room: a
  // client that holds connections open without speaking cannot keep a node that speaks at
  // once from connecting. False if none is waiting for its ClientHello.
  bool EvictOldestSilent() {
    std::shared_ptr<Conn> oldest;
    for (const auto& [id, conn] : conns_) {
      if (conn->kind == Kind::kHello && (!oldest || conn->deadline < oldest->deadline)) {
        oldest = conn;
      }
    }
    if (!oldest) return false;
    ++over_unrouted_;
    Close(*oldest);
    return true;
  }

  void ReadHello(Conn& conn) {
    char buf[4096];
    size_t room = kMaxClientHelloBytes - conn.to_inner.size();
    ssize_t n = read(conn.client.get(), buf, std::min(sizeof(buf), room));
    if (n < 0 && WouldBlock(errno)) return;
    if (n <= 0) return Close(conn);
    conn.to_inner.append(buf, static_cast<size_t>(n));
    ClientHelloSni hello = ParseClientHelloSni(conn.to_inner);
    if (hello.state == ClientHelloSni::State::kNeedMore &&
        conn.to_inner.size() < kMaxClientHelloBytes) {
      return;
    }
    if (hello.server_name == kJoinTlsName) {
      if (Count(Kind::kPump) < limits_.max_join_connections) return StartPump(conn);
      SetKind(conn, Kind::kParked);  // keeps its ClientHello deadline
      parked_.push_back(conns_[conn.id]);
      // Woken only if it hangs up; what else it sends waits in the socket.
      WatchClient(conn, EPOLLRDHUP, EPOLL_CTL_MOD);
      return;
    }
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn.client.get(), nullptr);
    std::shared_ptr<Conn> keep = conns_[conn.id];
    conns_.erase(conn.id);
    SetKind(conn, Kind::kDone);
    ++authenticated_;
    sinks_.authenticated(conn.client.Release(), std::move(conn.to_inner));
  }

  void StartPump(Conn& conn) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
      return Close(conn);
    }
    UniqueFd front_end(pair[0]), server_end(pair[1]);
    // The join server reads the client's IP from its peer's name (peer_addr.h).
    std::string name = FrontPeerName(conn.peer_ip, absl::StrCat(unique_, "x", ++serial_));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    if (name.empty() || name.size() + 1 > sizeof(sun.sun_path)) return Close(conn);
    memcpy(sun.sun_path + 1, name.data(), name.size());  // sun_path[0] == 0: abstract
    socklen_t sun_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (bind(front_end.get(), reinterpret_cast<sockaddr*>(&sun), sun_len) != 0) {
      return Close(conn);
    }
    SetKind(conn, Kind::kPump);
    conn.inner = std::move(front_end);
    conn.deadline = clock_.SteadyNow() + limits_.join_max_age;
    conn.inbound = conn.to_inner.size();
    WatchInner(conn, 0, EPOLL_CTL_ADD);
    ++joins_;
    sinks_.join(server_end.Release());
    Pump(conn);
  }

  // Moves what can be moved each way without blocking, then watches for what is needed next.
  void Pump(Conn& conn) {
    if (!Move(conn, conn.client.get(), conn.inner.get(), conn.to_inner, conn.client_eof, true) ||
        !Move(conn, conn.inner.get(), conn.client.get(), conn.to_client, conn.inner_eof, false)) {
      return Close(conn);
    }
    if (conn.inbound > limits_.join_inbound_bytes) {
      ++join_over_budget_;
      return Close(conn);
    }
    // The join server closed its end (gRPC never half-closes) and all it said reached the
    // client: nothing is left to pump either way.
    if (conn.inner_eof && conn.to_client.empty()) return Close(conn);
    if (conn.inner_eof && !conn.inner_unwatched) {
      // Still delivering its last bytes to a slow client: the closed end would report a
      // hang-up on every wait, so stop watching it (the age limit still applies).
      epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn.inner.get(), nullptr);
      conn.inner_unwatched = true;
    }
    // No EPOLLRDHUP: a read of 0 is the end; a half-closed side must not keep waking us.
    auto interest = [](bool can_read, bool must_write) {
      return (can_read ? EPOLLIN : 0u) | (must_write ? EPOLLOUT : 0u);
    };
    WatchClient(conn, interest(conn.to_inner.empty() && !conn.client_eof, !conn.to_client.empty()),
                EPOLL_CTL_MOD);
    if (!conn.inner_unwatched) {
      WatchInner(conn, interest(conn.to_client.empty() && !conn.inner_eof, !conn.to_inner.empty()),
                 EPOLL_CTL_MOD);
    }
  }

  // One direction: flush `pending` to `to`, then (if drained) read once from `from` and flush
  // again. False on an error that ends the connection.
  bool Move(Conn& conn, int from, int to, std::string& pending, bool& from_eof, bool inbound) {
    if (!Flush(to, pending)) return false;
    if (pending.empty() && !from_eof) {
      char buf[kPumpChunk];
      ssize_t n = read(from, buf, sizeof(buf));
      if (n > 0) {
        pending.assign(buf, static_cast<size_t>(n));
        if (inbound) conn.inbound += static_cast<size_t>(n);
        if (!Flush(to, pending)) return false;
      } else if (n == 0) {
        from_eof = true;
      } else if (!WouldBlock(errno)) {
        return false;
      }
    }
    if (from_eof && pending.empty()) shutdown(to, SHUT_WR);
    return true;
  }

  static bool Flush(int to, std::string& pending) {
    while (!pending.empty()) {
      ssize_t n = send(to, pending.data(), pending.size(), MSG_NOSIGNAL);
      if (n < 0) return WouldBlock(errno);
      pending.erase(0, static_cast<size_t>(n));
    }
    return true;
  }

  void ExpireDeadlines() {
    SteadyTime now = clock_.SteadyNow();
    if (listener_paused_until_ && *listener_paused_until_ <= now) {
      listener_paused_until_.reset();
      Watch(listener_.get(), EPOLLIN, EPOLL_CTL_MOD, kListenerTag);
    }
    std::vector<std::shared_ptr<Conn>> due;
    for (const auto& [id, conn] : conns_) {
      if (conn->deadline <= now) due.push_back(conn);
    }
    for (const auto& conn : due) {
      if (conn->kind == Kind::kPump) {
        ++join_over_age_;
      } else {
        ++hello_timeouts_;
      }
      Close(*conn);
    }
  }

  void Close(Conn& conn) {
    if (conn.kind == Kind::kDone) return;
    auto it = conns_.find(conn.id);
    std::shared_ptr<Conn> keep = it->second;  // until this returns
    conns_.erase(it);
    if (conn.kind == Kind::kParked) {
      parked_.erase(std::remove(parked_.begin(), parked_.end(), keep), parked_.end());
    }
    const bool was_pump = conn.kind == Kind::kPump;
    SetKind(conn, Kind::kDone);
    conn.client.Reset();  // closing removes it from the epoll set
    conn.inner.Reset();
    if (was_pump) {
      if (!parked_.empty() && !stopping_) {
        std::shared_ptr<Conn> next = parked_.front();
        parked_.pop_front();
        StartPump(*next);
      }
    }
  }

  UniqueFd listener_;
  const FrontLimits limits_;
  const FrontSinks sinks_;
  const Clock& clock_;
  const std::string unique_;
  UniqueFd epoll_, wake_;
  bool stopping_ = false;
  std::optional<SteadyTime> listener_paused_until_;
  std::unordered_map<uint64_t, std::shared_ptr<Conn>> conns_;  // by ID
  uint64_t last_id_ = 0;
  std::deque<std::shared_ptr<Conn>> parked_;
  size_t count_[4] = {};  // connections by Kind
  uint64_t serial_ = 0;
  std::atomic<uint64_t> authenticated_{0}, joins_{0}, over_unrouted_{0}, hello_timeouts_{0},
      join_over_budget_{0}, join_over_age_{0};
};

StatusOr<std::unique_ptr<SwarmFront>> SwarmFront::Start(const std::string& listen_addr,
                                                        FrontLimits limits, FrontSinks sinks,
                                                        const Clock& clock) {
  std::string host, port;
  if (!SplitListenAddr(listen_addr, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("bad listen address ", listen_addr));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("bad listen address ", listen_addr));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, freeaddrinfo);
  UniqueFd listener(
      socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  int one = 1;
  if (!listener.valid() ||
      setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      bind(listener.get(), found->ai_addr, found->ai_addrlen) != 0 ||
      listen(listener.get(), 1024) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", listen_addr, ": ", strerror(errno)));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(listener.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  int bound_port =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  int fd = listener.get();
  auto loop = std::make_unique<Loop>(std::move(listener), limits, std::move(sinks), clock);
  RETURN_IF_ERROR(loop->Init());
  std::unique_ptr<SwarmFront> front(new SwarmFront(std::move(loop), fd, bound_port));
  front->thread_ = std::thread([l = front->loop_.get()] { l->Run(); });
  return front;
}

SwarmFront::SwarmFront(std::unique_ptr<Loop> loop, int listen_fd, int port)
    : loop_(std::move(loop)), listen_fd_(listen_fd), port_(port) {}

SwarmFront::~SwarmFront() { Stop(); }

void SwarmFront::Stop() {
  if (stopped_.exchange(true)) return;
  loop_->Wake();
  if (thread_.joinable()) thread_.join();
}

SwarmFront::Counts SwarmFront::counts() const { return loop_->counts(); }

}  // namespace capsule::transport
