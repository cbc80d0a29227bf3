// Responses whose body comes from a BodySource, on a real server and raw client sockets: the
// framing (Content-Length, exact bytes, keep-alive after it, HEAD, HTTP/1.0), backpressure (a
// client that does not read makes the server pull no more than the socket takes, and holds
// no worker thread), and a client that goes away mid-body (the source is released, the
// server keeps serving).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "dockerapi/http/server.h"
#include "dockerapi/http/test_client.h"

namespace capsule::http {
namespace {

// `size` bytes of a repeating pattern, in pieces of `hint`; counts what it produced, and
// can be told to stop short (a source that breaks its size).
class PatternSource : public BodySource {
 public:
  struct Counters {
    std::atomic<uint64_t> produced{0};
    std::atomic<bool> destroyed{false};
  };
  PatternSource(uint64_t size, std::shared_ptr<Counters> counters, uint64_t stop_at = UINT64_MAX)
      : size_(size), stop_at_(stop_at), counters_(std::move(counters)) {}
  ~PatternSource() override { counters_->destroyed = true; }
  uint64_t Size() const override { return size_; }
  void Next(size_t hint, std::string* out) override {
    const uint64_t end = std::min<uint64_t>({size_, stop_at_, done_ + hint});
    for (; done_ < end; ++done_) out->push_back(Byte(done_));
    counters_->produced = done_;
  }
  static char Byte(uint64_t i) { return static_cast<char>('a' + i * 7 % 26); }
  static std::string Expected(uint64_t n) {
    std::string s;
    for (uint64_t i = 0; i < n; ++i) s.push_back(Byte(i));
    return s;
  }

 private:
  uint64_t size_;
  uint64_t stop_at_;
  uint64_t done_ = 0;
  std::shared_ptr<Counters> counters_;
};

constexpr char kHost[] = "Host: docker\r\n";

class SourceBodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-http-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.socket_path = dir_ + "/api.sock";
    options_.read_timeout = std::chrono::milliseconds(5000);
    options_.idle_timeout = std::chrono::milliseconds(5000);
    options_.worker_threads = 1;  // a body being written must not hold it
    options_.common_headers = [] {
      return std::vector<std::pair<std::string, std::string>>{{"Api-Version", "1.41"}};
    };
    router_.Add("GET", "/list", [this](const Request& req, const Params&) {
      Response r;
      r.headers.emplace_back("Content-Type", "application/json");
      const uint64_t size = std::stoull(req.query.at("size"));
      const uint64_t stop =
          req.query.count("stop") ? std::stoull(req.query.at("stop")) : UINT64_MAX;
      r.source = std::make_shared<PatternSource>(size, counters_, stop);
      return r;
    });
    router_.Add("GET", "/_ping", [](const Request&, const Params&) {
      Response r;
      r.body = "OK";
      return r;
    });
  }
  void TearDown() override {
    server_.reset();
    ::rmdir(dir_.c_str());
  }
  void StartServer() {
    server_ = std::make_unique<Server>(options_, router_);
    ASSERT_TRUE(server_->Start().ok());
  }
  bool Ping() {
    Client c(options_.socket_path);
    if (!c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n")) return false;
    auto r = c.Read(false, 3000);
    return r && r->body == "OK";
  }
  bool WaitDestroyed() {
    for (int i = 0; i < 500 && !counters_->destroyed; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return counters_->destroyed;
  }

  std::string dir_;
  ServerOptions options_;
  Router router_;
  std::shared_ptr<PatternSource::Counters> counters_ = std::make_shared<PatternSource::Counters>();
  std::unique_ptr<Server> server_;
};

TEST_F(SourceBodyTest, BodyHasItsSizeAsContentLengthAndExactBytesThenKeepAlive) {
  StartServer();
  Client c(options_.socket_path);
  for (uint64_t size : {1u, 1000u, 64u * 1024u, 64u * 1024u + 1u, 1000000u}) {
    SCOPED_TRACE(size);
    ASSERT_TRUE(
        c.Send("GET /list?size=" + std::to_string(size) + " HTTP/1.1\r\n" + kHost + "\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->headers["content-length"], std::to_string(size));
    EXPECT_EQ(r->headers.count("transfer-encoding"), 0u);
    EXPECT_EQ(r->headers["content-type"], "application/json");
    EXPECT_EQ(r->headers["api-version"], "1.41");
    EXPECT_TRUE(r->headers.count("date"));
    EXPECT_EQ(r->body, PatternSource::Expected(size));
  }
  // Same connection, nothing left over: the next response starts right after the body.
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "OK");
}

TEST_F(SourceBodyTest, HeadHasTheBodysLengthAndNoBody) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("HEAD /list?size=5000 HTTP/1.1\r\n") + kHost + "\r\n"));
  auto r = c.Read(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["content-length"], "5000");
  EXPECT_EQ(counters_->produced, 0u);
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "OK");  // no stray body bytes came before it
}

TEST_F(SourceBodyTest, Http10GetsTheBodyThenClose) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send("GET /list?size=200000 HTTP/1.0\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["content-length"], "200000");
  EXPECT_EQ(r->body, PatternSource::Expected(200000));
  EXPECT_TRUE(c.ClosedWithoutData());
}

TEST_F(SourceBodyTest, ClientThatDoesNotReadMakesTheServerRenderOnlyWhatTheSocketTakes) {
  StartServer();
  Client slow(options_.socket_path);
  const uint64_t size = 64ull << 20;  // 64 MiB
  ASSERT_TRUE(
      slow.Send("GET /list?size=" + std::to_string(size) + " HTTP/1.1\r\n" + kHost + "\r\n"));
  ASSERT_TRUE(slow.ReadUntil("\r\n\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t stalled = counters_->produced;
  EXPECT_GT(stalled, 0u);
  EXPECT_LT(stalled, 8ull << 20) << "the server rendered far beyond what the socket holds";
  // The only worker thread is free: other clients are served while the body waits.
  EXPECT_TRUE(Ping());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(counters_->produced, stalled);
  // Reading resumes the body, intact.
  auto body = slow.ReadExactly(size, 30000);
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, PatternSource::Expected(size));
  EXPECT_TRUE(WaitDestroyed());
}

TEST_F(SourceBodyTest, ClientGoneMidBodyReleasesTheSourceAndServerKeepsServing) {
  StartServer();
  {
    Client c(options_.socket_path);
    ASSERT_TRUE(
        c.Send("GET /list?size=" + std::to_string(64ull << 20) + " HTTP/1.1\r\n" + kHost + "\r\n"));
    ASSERT_TRUE(c.ReadUntil("\r\n\r\n"));
    ASSERT_TRUE(c.ReadExactly(100000));
  }  // closed with most of the body unread
  EXPECT_TRUE(WaitDestroyed());
  EXPECT_LT(counters_->produced, 64ull << 20);
  EXPECT_TRUE(Ping());
}

TEST_F(SourceBodyTest, ClientThatStopsReadingIsClosedAfterTheReadTimeout) {
  options_.read_timeout = std::chrono::milliseconds(300);
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(
      c.Send("GET /list?size=" + std::to_string(64ull << 20) + " HTTP/1.1\r\n" + kHost + "\r\n"));
  ASSERT_TRUE(c.ReadUntil("\r\n\r\n"));
  EXPECT_TRUE(WaitDestroyed());  // the stalled write timed out and the connection closed
  EXPECT_TRUE(Ping());
}

TEST_F(SourceBodyTest, StopWhileABodyWaitsOnItsClientReturns) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(
      c.Send("GET /list?size=" + std::to_string(64ull << 20) + " HTTP/1.1\r\n" + kHost + "\r\n"));
  ASSERT_TRUE(c.ReadUntil("\r\n\r\n"));
  const auto start = std::chrono::steady_clock::now();
  server_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(counters_->destroyed);
}

TEST_F(SourceBodyTest, SourceShorterThanItsSizeClosesTheConnection) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("GET /list?size=1000&stop=10 HTTP/1.1\r\n") + kHost + "\r\n"));
  auto head = c.ReadUntil("\r\n\r\n");
  ASSERT_TRUE(head);
  EXPECT_NE(head->find("Content-Length: 1000"), std::string::npos);
  EXPECT_EQ(c.ReadExactly(10), PatternSource::Expected(10));
  EXPECT_TRUE(c.ClosedWithoutData());  // cut short, never a silent keep-alive
  EXPECT_TRUE(Ping());
}

}  // namespace
}  // namespace capsule::http
