// The swarm port's front (src/transport/swarm_front.h) with sinks of its own: real sockets on
// 127.0.0.1, a real ClientHello from OpenSSL, no gRPC. What routes where, and each bound on
// join connections, with a control that stays within it.
#include "transport/swarm_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/unique_fd.h"
#include "transport/peer_addr.h"
#include "transport/tls_names.h"

namespace capsule::transport {
namespace {

using std::chrono::milliseconds;

std::string ClientHello(const std::string& server_name) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), BIO_new(BIO_s_mem()), out);
  SSL_set_tlsext_host_name(ssl.get(), server_name.c_str());
  SSL_connect(ssl.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  return std::string(data, static_cast<size_t>(n));
}

// What the sinks were given.
struct Handed {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<UniqueFd, std::string>> authenticated;
  std::vector<UniqueFd> joins;

  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), pred);
  }
};

class SwarmFrontTest : public ::testing::Test {
 protected:
  void Start(FrontLimits limits = {}, const std::string& addr = "127.0.0.1:0") {
    FrontSinks sinks;
    sinks.authenticated = [this](int fd, std::string bytes) {
      std::lock_guard<std::mutex> lock(handed_.mu);
      handed_.authenticated.emplace_back(UniqueFd(fd), std::move(bytes));
      handed_.cv.notify_all();
    };
    sinks.join = [this](int fd) {
      std::lock_guard<std::mutex> lock(handed_.mu);
      handed_.joins.emplace_back(fd);
      handed_.cv.notify_all();
    };
    auto front = SwarmFront::Start(addr, limits, std::move(sinks), RealClock());
    ASSERT_TRUE(front.ok()) << front.status();
    front_ = *std::move(front);
  }

  UniqueFd Connect() {
    UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(front_->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    return fd;
  }

  static void Send(int fd, const std::string& bytes) {
    ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // Reads exactly n bytes within 10 s (fewer if the peer closes).
  static std::string ReadN(int fd, size_t n) {
    std::string out;
    while (out.size() < n) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 10000) <= 0) break;
      char buf[65536];
      ssize_t got = read(fd, buf, std::min(sizeof(buf), n - out.size()));
      if (got <= 0) break;
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }

  // True once the front has closed `fd`'s connection (a read sees EOF or a reset).
  static bool ClosedWithin(int fd, milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) {
        char buf[4096];
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got <= 0) return true;
      }
    }
    return false;
  }

  // A client that asks for the join name, once the front has pumped it to the join sink.
  UniqueFd PumpedJoin() {
    size_t before = Joins();
    UniqueFd client = Connect();
    Send(client.get(), ClientHello(kJoinTlsName));
    EXPECT_TRUE(handed_.WaitFor([&] { return handed_.joins.size() == before + 1; }));
    return client;
  }

  size_t Joins() {
    std::lock_guard<std::mutex> lock(handed_.mu);
    return handed_.joins.size();
  }

  Handed handed_;
  std::unique_ptr<SwarmFront> front_;
};

TEST_F(SwarmFrontTest, AnAuthenticatedClientIsHandedOverWithTheBytesAlreadyRead) {
  Start();
  UniqueFd client = Connect();
  const std::string hello = ClientHello(kManagerTlsName);
  Send(client.get(), hello);
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.authenticated.size() == 1; }));
  EXPECT_EQ(handed_.authenticated[0].second, hello);
  EXPECT_TRUE(handed_.joins.empty());
  // The socket itself: what the client sends next arrives on it, not through the front.
  Send(client.get(), "next");
  EXPECT_EQ(ReadN(handed_.authenticated[0].first.get(), 4), "next");
  EXPECT_EQ(front_->counts().authenticated, 1u);
}

TEST_F(SwarmFrontTest, AnythingButTheJoinNameIsTreatedAsAuthenticated) {
  Start();
  UniqueFd a = Connect(), b = Connect();
  Send(a.get(), ClientHello("another.name"));
  Send(b.get(), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");  // not TLS at all
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.authenticated.size() == 2; }));
  EXPECT_TRUE(handed_.joins.empty());
}

TEST_F(SwarmFrontTest, AJoinIsPumpedThroughAPairNamedForTheClientsIp) {
  Start();
  UniqueFd client = Connect();
  const std::string hello = ClientHello(kJoinTlsName);
  Send(client.get(), hello);
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.joins.size() == 1; }));
  int server = handed_.joins[0].get();
  EXPECT_EQ(ReadN(server, hello.size()), hello);
  // Both ways.
  Send(client.get(), "from the client");
  EXPECT_EQ(ReadN(server, 15), "from the client");
  Send(server, "from the server");
  EXPECT_EQ(ReadN(client.get(), 15), "from the server");
  // The join server's peer names the client's address (what NodeCA records).
  sockaddr_un peer{};
  socklen_t len = sizeof(peer);
  ASSERT_EQ(getpeername(server, reinterpret_cast<sockaddr*>(&peer), &len), 0);
  ASSERT_EQ(peer.sun_path[0], '\0');  // abstract
  std::string name(peer.sun_path + 1, len - offsetof(sockaddr_un, sun_path) - 1);
  StatusOr<std::string> ip = PeerIp("unix-abstract:" + name);
  ASSERT_TRUE(ip.ok()) << ip.status() << " " << name;
  EXPECT_EQ(*ip, "127.0.0.1");
  // The client hangs up: the join server sees the end.
  client.Reset();
  EXPECT_EQ(ReadN(server, 1), "");
}

TEST_F(SwarmFrontTest, AJoinOverIpv6IsNamedForTheClientsIpv6Address) {
  Start({}, "[::1]:0");
  UniqueFd client(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_port = htons(static_cast<uint16_t>(front_->port()));
  a.sin6_addr = in6addr_loopback;
  if (connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  Send(client.get(), ClientHello(kJoinTlsName));
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.joins.size() == 1; }));
  sockaddr_un peer{};
  socklen_t len = sizeof(peer);
  ASSERT_EQ(getpeername(handed_.joins[0].get(), reinterpret_cast<sockaddr*>(&peer), &len), 0);
  std::string name(peer.sun_path + 1, len - offsetof(sockaddr_un, sun_path) - 1);
  StatusOr<std::string> ip = PeerIp("unix-abstract:" + name);
  ASSERT_TRUE(ip.ok()) << ip.status() << " " << name;
  EXPECT_EQ(*ip, "::1");
}

TEST_F(SwarmFrontTest, AJoinConnectionSendingMoreThanItsBudgetIsClosed) {
  FrontLimits limits;
  limits.join_inbound_bytes = 64 << 10;
  Start(limits);
  UniqueFd client = PumpedJoin();
  int server = handed_.joins[0].get();
  // Control: up to the budget is pumped, and the connection stays open.
  const std::string half(30 << 10, 'x');
  Send(client.get(), half);
  EXPECT_GE(ReadN(server, 30 << 10).size(), half.size() - (1 << 10));
  EXPECT_FALSE(ClosedWithin(client.get(), milliseconds(300)));
  // Over it: closed, and the join server's end sees the end too.
  for (int i = 0; i < 3; ++i) send(client.get(), half.data(), half.size(), MSG_NOSIGNAL);
  EXPECT_TRUE(ClosedWithin(client.get(), milliseconds(5000)));
  EXPECT_EQ(front_->counts().join_over_budget, 1u);
  std::string rest = ReadN(server, 1 << 20);
  EXPECT_LE(rest.size(), size_t{64} << 10);  // never more than the budget reached it
}

TEST_F(SwarmFrontTest, AClientThatSendsNoClientHelloIsClosedAtItsDeadline) {
  FrontLimits limits;
  limits.hello_timeout = milliseconds(300);
  Start(limits);
  UniqueFd silent = Connect();
  UniqueFd partial = Connect();
  std::string hello = ClientHello(kJoinTlsName);
  Send(partial.get(), hello.substr(0, hello.size() / 2));
  EXPECT_TRUE(ClosedWithin(silent.get(), milliseconds(5000)));
  EXPECT_TRUE(ClosedWithin(partial.get(), milliseconds(5000)));
  EXPECT_EQ(front_->counts().hello_timeouts, 2u);
  EXPECT_TRUE(handed_.authenticated.empty());
  EXPECT_TRUE(handed_.joins.empty());
}

TEST_F(SwarmFrontTest, AtTheUnroutedCapTheOldestSilentConnectionMakesRoom) {
  FrontLimits limits;
  limits.max_unrouted = 2;
  Start(limits);
  UniqueFd oldest = Connect();
  UniqueFd second = Connect();
  std::this_thread::sleep_for(milliseconds(100));  // both accepted, in this order
  UniqueFd speaker = Connect();
  Send(speaker.get(), ClientHello(kManagerTlsName));
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.authenticated.size() == 1; }));
  EXPECT_TRUE(ClosedWithin(oldest.get(), milliseconds(2000)));
  EXPECT_FALSE(ClosedWithin(second.get(), milliseconds(200)));
  EXPECT_EQ(front_->counts().over_unrouted, 1u);
}

TEST_F(SwarmFrontTest, WhenAllWaitingJoinsHaveSpokenANewConnectionIsClosed) {
  FrontLimits limits;
  limits.max_unrouted = 1;
  limits.max_join_connections = 1;
  Start(limits);
  UniqueFd pumped = PumpedJoin();
  UniqueFd parked = Connect();  // waits for the join slot, having spoken
  Send(parked.get(), ClientHello(kJoinTlsName));
  std::this_thread::sleep_for(milliseconds(100));
  UniqueFd late = Connect();
  EXPECT_TRUE(ClosedWithin(late.get(), milliseconds(2000)));
  EXPECT_FALSE(ClosedWithin(parked.get(), milliseconds(200)));  // control: kept its place
  EXPECT_EQ(front_->counts().over_unrouted, 1u);
}

TEST_F(SwarmFrontTest, JoinsOverTheConcurrencyCapWaitForASlot) {
  FrontLimits limits;
  limits.max_join_connections = 1;
  Start(limits);
  UniqueFd first = PumpedJoin();
  UniqueFd second = Connect();
  Send(second.get(), ClientHello(kJoinTlsName));
  // Not pumped while the first holds the only slot, and not closed either.
  EXPECT_FALSE(ClosedWithin(second.get(), milliseconds(300)));
  EXPECT_EQ(Joins(), 1u);
  // The first join ends (the client hangs up, the join server closes its end): its slot goes
  // to the second.
  first.Reset();
  {
    std::lock_guard<std::mutex> lock(handed_.mu);
    handed_.joins[0].Reset();
  }
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.joins.size() == 2; }));
}

TEST_F(SwarmFrontTest, AJoinConnectionIsClosedAtItsMaximumAge) {
  FrontLimits limits;
  limits.join_max_age = milliseconds(300);
  Start(limits);
  UniqueFd client = PumpedJoin();
  EXPECT_TRUE(ClosedWithin(client.get(), milliseconds(5000)));
  EXPECT_EQ(front_->counts().join_over_age, 1u);
}

TEST_F(SwarmFrontTest, AJoinServerThatClosesHasItsLastWordsDeliveredThenTheSlotIsFreed) {
  FrontLimits limits;
  limits.max_join_connections = 1;
  Start(limits);
  UniqueFd client = Connect();
  const std::string hello = ClientHello(kJoinTlsName);
  Send(client.get(), hello);
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.joins.size() == 1; }));
  UniqueFd server;
  {
    std::lock_guard<std::mutex> lock(handed_.mu);
    server = std::move(handed_.joins[0]);
  }
  ASSERT_EQ(ReadN(server.get(), hello.size()), hello);
  // More than the socket buffers hold, written while the client reads nothing, then the join
  // server closes at once: the pump still holds some of it when the server has gone.
  const std::string words(4 << 20, 'w');
  std::thread writer([&] {
    size_t off = 0;
    while (off < words.size()) {
      ssize_t n = send(server.get(), words.data() + off, words.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
      } else if (errno == EAGAIN) {
        pollfd p{server.get(), POLLOUT, 0};
        poll(&p, 1, 1000);
      } else {
        break;
      }
    }
    server.Reset();
  });
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(ReadN(client.get(), words.size()).size(), words.size());
  writer.join();
  EXPECT_TRUE(ClosedWithin(client.get(), milliseconds(2000)));
  // The client has not closed its end, yet the pump is over: the only join slot is free.
  UniqueFd next = Connect();
  Send(next.get(), ClientHello(kJoinTlsName));
  EXPECT_TRUE(handed_.WaitFor([&] { return handed_.joins.size() == 2; }));
}

// CPU time this process used while `fn` ran.
template <typename Fn>
milliseconds CpuWhile(Fn fn) {
  auto cpu = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return milliseconds((u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000 +
                        (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000);
  };
  milliseconds before = cpu();
  fn();
  return cpu() - before;
}

TEST_F(SwarmFrontTest, OutOfDescriptorsTheFrontWaitsInsteadOfSpinning) {
  Start();
  // Control: the measure sees a thread that spins.
  milliseconds spinning = CpuWhile([] {
    std::atomic<bool> stop{false};
    std::thread spin([&] {
      while (!stop) {
      }
    });
    std::this_thread::sleep_for(milliseconds(500));
    stop = true;
    spin.join();
  });
  EXPECT_GE(spinning, milliseconds(200));

  // One connection served first: under UBSan, the front's first virtual calls check their
  // object's type through a pipe, which fails without descriptors (a false report); checked
  // once, the type is cached.
  UniqueFd first = Connect();
  Send(first.get(), ClientHello(kManagerTlsName));
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.authenticated.size() == 1; }));

  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  // The client's socket first; then every descriptor the limit allows is used up, and only
  // then does it connect: the front's accept fails with EMFILE while it waits in the backlog.
  UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  rlimit low = old;
  low.rlim_cur = 64;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  std::vector<UniqueFd> fill;
  while (true) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    fill.emplace_back(fd);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(front_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  milliseconds idle = CpuWhile([] { std::this_thread::sleep_for(milliseconds(500)); });
  fill.clear();
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_LT(idle, milliseconds(150)) << "the front spun on a listener it could not accept from";
  // Descriptors back: the waiting client is accepted and served.
  Send(client.get(), ClientHello(kManagerTlsName));
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.authenticated.size() == 2; }));
}

TEST_F(SwarmFrontTest, ManyJoinsOneAfterAnotherAreEachPumpedToTheirEnd) {
  // Each join's teardown races the next one's accept, and descriptor numbers come back at
  // once. (A leftover event of a closed pump once could end the pump that reused its numbers;
  // events now carry connection IDs. This loop did not reproduce that race on demand: it checks
  // that sequential joins, each closed by the server with data the client leaves unread, all
  // get their answer.)
  Start();
  const std::string hello = ClientHello(kJoinTlsName);
  for (int i = 0; i < 200; ++i) {
    UniqueFd client = Connect();
    Send(client.get(), hello + "ping");
    ASSERT_TRUE(
        handed_.WaitFor([&] { return handed_.joins.size() == static_cast<size_t>(i + 1); }));
    UniqueFd server;
    {
      std::lock_guard<std::mutex> lock(handed_.mu);
      server = std::move(handed_.joins[i]);
    }
    ASSERT_EQ(ReadN(server.get(), hello.size() + 4), hello + "ping") << i;
    Send(server.get(), "pong" + std::string(1000, 'x'));
    server.Reset();  // the join server closes right after its answer
    ASSERT_EQ(ReadN(client.get(), 4), "pong") << "join " << i << " was cut";
    // The client leaves the rest unread: its close resets the connection (an error event on
    // the front's socket, racing the next connection's accept).
  }
}

TEST_F(SwarmFrontTest, StopClosesWhatTheFrontHolds) {
  Start();
  UniqueFd waiting = Connect();
  UniqueFd joined = Connect();
  Send(joined.get(), ClientHello(kJoinTlsName));
  ASSERT_TRUE(handed_.WaitFor([&] { return handed_.joins.size() == 1; }));
  front_->Stop();
  EXPECT_TRUE(ClosedWithin(waiting.get(), milliseconds(2000)));
  EXPECT_TRUE(ClosedWithin(joined.get(), milliseconds(2000)));
}

}  // namespace
}  // namespace capsule::transport
