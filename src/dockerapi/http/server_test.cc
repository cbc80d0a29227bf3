// Real server on a temp unix socket, real client sockets (plain POSIX, so the test sees
// exactly the bytes on the wire).
#include "dockerapi/http/server.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>

#include "dockerapi/http/test_client.h"

namespace capsule::http {
namespace {

Response Text(std::string body, int status = 200) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// A gate a handler waits on until the test opens it (bounded, so a bug cannot hang).
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-http-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    options_.socket_path = dir_ + "/api.sock";
    options_.body_limit = 1 << 20;
    options_.read_timeout = std::chrono::milliseconds(5000);
    options_.idle_timeout = std::chrono::milliseconds(5000);
    options_.worker_threads = 4;
    options_.common_headers = [] {
      return std::vector<std::pair<std::string, std::string>>{{"Api-Version", "1.41"},
                                                              {"Ostype", "linux"}};
    };
    router_.Add("GET", "/_ping", [](const Request&, const Params&) {
      Response r = Text("OK");
      r.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      return r;
    });
    router_.Add("GET", "/secrets/{id}", [](const Request& req, const Params& p) {
      nlohmann::json j = {{"id", p.at("id")},
                          {"version", p.count("__version") ? p.at("__version") : ""},
                          {"query", req.query_all}};
      return Text(j.dump());
    });
    router_.Add("POST", "/echo", [](const Request& req, const Params&) {
      return Text(nlohmann::json{
          {"body", req.body},
          {"ct", req.headers.count("content-type") ? req.headers.at("content-type") : ""}}
                      .dump());
    });
    router_.Add("DELETE", "/secrets/{id}",
                [](const Request&, const Params&) { return Text("", 204); });
    router_.Add("GET", "/peer", [](const Request& req, const Params&) {
      if (!req.peer) return Text("none");
      return Text(
          nlohmann::json{{"uid", req.peer->uid}, {"gid", req.peer->gid}, {"pid", req.peer->pid}}
              .dump());
    });
    router_.Add("GET", "/gated", [this](const Request&, const Params&) {
      return Text(gate_.Wait() ? "opened" : "gate timeout");
    });
  }

  void TearDown() override {
    server_.reset();
    ::unlink(options_.socket_path.c_str());
    ::rmdir(dir_.c_str());
  }

  void StartServer() {
    server_ = std::make_unique<Server>(options_, router_);
    ASSERT_TRUE(server_->Start().ok());
  }

  std::string dir_;
  ServerOptions options_;
  Router router_;
  Gate gate_;
  std::unique_ptr<Server> server_;
};

constexpr char kHost[] = "Host: docker\r\n";

TEST_F(ServerTest, RoutesWithAndWithoutVersionPrefix) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(std::string("GET /v1.41/secrets/abc%20d?x=1&x=2&s=a+b HTTP/1.1\r\n") + kHost +
                     "\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["id"], "abc d");
  EXPECT_EQ(j["version"], "1.41");
  EXPECT_EQ(j["query"]["x"], nlohmann::json({"1", "2"}));
  EXPECT_EQ(j["query"]["s"], nlohmann::json({"a b"}));
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(r->headers["api-version"], "1.41");
  EXPECT_EQ(r->headers["ostype"], "linux");
  EXPECT_EQ(r->headers["content-length"], std::to_string(r->body.size()));
  EXPECT_TRUE(r->headers.count("date"));

  ASSERT_TRUE(c.Send(std::string("GET /secrets/xyz HTTP/1.1\r\n") + kHost + "\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["id"], "xyz");
  EXPECT_EQ(j["version"], "");

  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "OK");
  EXPECT_EQ(r->headers["content-type"], "text/plain; charset=utf-8");
}

TEST_F(ServerTest, HandlersSeeTheClientsPeerCredentials) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 2; ++i) {  // every request of a keep-alive connection
    ASSERT_TRUE(c.Send(std::string("GET /peer HTTP/1.1\r\n") + kHost + "\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    ASSERT_NE(r->body, "none");
    auto j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["uid"], ::getuid());
    EXPECT_EQ(j["gid"], ::getgid());
    EXPECT_EQ(j["pid"], ::getpid());
  }
}

TEST_F(ServerTest, PeerCredentialsAreThoseOfTheConnectingProcess) {
  StartServer();
  // A child process connects and asks: the handler sees the child's PID, not ours. The child
  // makes only system calls (this process has threads: no malloc after fork).
  const std::string request =
      std::string("GET /peer HTTP/1.1\r\n") + kHost + "Connection: close\r\n\r\n";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, options_.socket_path.c_str(), sizeof(addr.sun_path) - 1);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) _exit(1);
    if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      _exit(1);
    }
    char buf[4096];
    ssize_t got;
    while ((got = ::read(fd, buf, sizeof(buf))) > 0) {
      if (::write(fds[1], buf, static_cast<size_t>(got)) != got) _exit(1);
    }
    _exit(0);
  }
  ::close(fds[1]);
  std::string body;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) body.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << body;
  const size_t json_at = body.find("\r\n\r\n");
  ASSERT_NE(json_at, std::string::npos) << body;
  auto j = nlohmann::json::parse(body.substr(json_at + 4));
  EXPECT_EQ(j["pid"], child);
  EXPECT_EQ(j["uid"], ::getuid());
}

TEST_F(ServerTest, UnknownRouteAndWrongMethodAre404) {
  StartServer();
  Client c(options_.socket_path);
  for (std::string req : {"GET /nope HTTP/1.1\r\n", "PUT /secrets/abc HTTP/1.1\r\n"}) {
    ASSERT_TRUE(c.Send(req + kHost + "\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->body, "{\"message\":\"page not found\"}\n");
    EXPECT_EQ(r->headers["content-type"], "application/json");
  }
}

TEST_F(ServerTest, HeadHasGetHeadersAndNoBody) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("HEAD /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  auto r = c.Read(/*head=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-length"], "2");
  EXPECT_EQ(r->headers["api-version"], "1.41");
  // No body bytes: the next response on the connection starts right away.
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "OK");
}

TEST_F(ServerTest, NoContentHasNoBodyOrLength) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("DELETE /secrets/x HTTP/1.1\r\n") + kHost + "\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->headers.count("content-length"), 0u);
  EXPECT_EQ(r->headers.count("content-type"), 0u);
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "OK");
}

TEST_F(ServerTest, KeepAliveServesHundredRequestsOnOneConnection) {
  StartServer();
  Client c(options_.socket_path);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(c.Send("GET /secrets/n" + std::to_string(i) + " HTTP/1.1\r\n" + kHost + "\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(nlohmann::json::parse(r->body)["id"], "n" + std::to_string(i));
    EXPECT_EQ(r->headers.count("connection"), 0u);  // HTTP/1.1 keep-alive is implicit
  }
}

TEST_F(ServerTest, ConnectionCloseAndHttp10CloseAfterResponse) {
  StartServer();
  {
    Client c(options_.socket_path);
    ASSERT_TRUE(
        c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "Connection: close\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->headers["connection"], "close");
    EXPECT_TRUE(c.ClosedWithoutData());
  }
  {
    Client c(options_.socket_path);
    ASSERT_TRUE(c.Send("GET /_ping HTTP/1.0\r\n\r\n"));
    auto r = c.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "OK");
    EXPECT_TRUE(c.ClosedWithoutData());
  }
  {
    Client c(options_.socket_path);  // HTTP/1.0 asking for keep-alive gets it
    for (int i = 0; i < 2; ++i) {
      ASSERT_TRUE(c.Send("GET /_ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      auto r = c.Read();
      ASSERT_TRUE(r) << i;
      EXPECT_EQ(r->headers["connection"], "keep-alive");
    }
  }
}

TEST_F(ServerTest, ReceivesContentLengthAndChunkedBodies) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(
      c.Send(std::string("POST /echo HTTP/1.1\r\n") + kHost +
             "Content-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\":\"b c\"}"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["body"], "{\"a\":\"b c\"}");
  EXPECT_EQ(j["ct"], "application/json");
  ASSERT_TRUE(c.Send(std::string("POST /echo HTTP/1.1\r\n") + kHost +
                     "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(nlohmann::json::parse(r->body)["body"], "hello world");
}

TEST_F(ServerTest, OversizedContentLengthIs413WithoutReadingBody) {
  StartServer();  // body_limit 1 MiB
  Client c(options_.socket_path);
  // Announce 10 MB but send only 4 KB: the answer must come without the rest.
  ASSERT_TRUE(c.Send(std::string("POST /echo HTTP/1.1\r\n") + kHost +
                     "Content-Length: 10485760\r\n\r\n" + std::string(4096, 'x')));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, "{\"message\":\"request body too large\"}\n");
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_TRUE(c.ClosedWithoutData());
}

TEST_F(ServerTest, EndlessChunkedBodyIs413) {
  StartServer();  // body_limit 1 MiB
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("POST /echo HTTP/1.1\r\n") + kHost +
                     "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'y') + "\r\n";
  size_t sent = 0;
  // Keep sending until the server stops reading and closes (bounded at 64 MiB).
  while (sent < (64u << 20) && c.Send(chunk)) sent += chunk.size();
  EXPECT_LT(sent, 64u << 20);
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, "{\"message\":\"request body too large\"}\n");
}

TEST_F(ServerTest, SlowClientIsClosedAfterReadTimeout) {
  options_.read_timeout = std::chrono::milliseconds(300);
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send("GET /_ping HTTP/1.1\r\nHost: do"));  // half the headers, then silence
  EXPECT_TRUE(c.ClosedWithoutData(10000));
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  options_.idle_timeout = std::chrono::milliseconds(300);
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  ASSERT_TRUE(c.Read());
  EXPECT_TRUE(c.ClosedWithoutData(10000));
}

TEST_F(ServerTest, BlockedHandlerDoesNotDelayAnotherConnection) {
  StartServer();
  Client slow(options_.socket_path);
  Client fast(options_.socket_path);
  ASSERT_TRUE(slow.Send(std::string("GET /gated HTTP/1.1\r\n") + kHost + "\r\n"));
  ASSERT_TRUE(fast.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  auto r = fast.Read();  // answered while the other handler is still blocked
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "OK");
  EXPECT_FALSE(slow.HasPendingData());
  gate_.Open();
  auto s = slow.Read();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->body, "opened");
}

TEST_F(ServerTest, MalformedRequestIs400AndClosed) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send("GET /_ping HTTP/1.1\r\nBad Header\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.ClosedWithoutData());

  Client d(options_.socket_path);
  ASSERT_TRUE(d.Send("GET /secrets/%zz HTTP/1.1\r\nHost: x\r\n\r\n"));
  r = d.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(ServerTest, HugeHeaderIsRejected) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost +
                     "X-Big: " + std::string(70000, 'a') + "\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_TRUE(c.ClosedWithoutData());
}

TEST_F(ServerTest, SocketHasRequestedMode) {
  StartServer();
  struct stat st;
  ASSERT_EQ(::lstat(options_.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
}

// What an inotify watch on `dir` saw happen to the entry `name`, in order ("create",
// "attrib", "moved_to"), after `act` ran.
std::vector<std::string> EntryEvents(const std::string& dir, const std::string& name,
                                     const std::function<void()>& act) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  EXPECT_GE(fd, 0);
  EXPECT_GE(::inotify_add_watch(fd, dir.c_str(), IN_CREATE | IN_ATTRIB | IN_MOVED_TO), 0);
  act();
  std::vector<std::string> seen;
  alignas(inotify_event) char buf[16384];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
    for (char* p = buf; p < buf + n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(p);
      if (ev->len > 0 && name == ev->name) {
        if (ev->mask & IN_CREATE) seen.push_back("create");
        if (ev->mask & IN_ATTRIB) seen.push_back("attrib");
        if (ev->mask & IN_MOVED_TO) seen.push_back("moved_to");
      }
      p += sizeof(inotify_event) + ev->len;
    }
  }
  ::close(fd);
  return seen;
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  while (dirent* e = ::readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

// Issue 11 part 6: even under a permissive umask, the socket's name appears once, by a rename
// of a socket that already has its final mode (no create and no chmod under that name, so no
// moment where others could connect), and the private directory is gone afterwards.
TEST_F(ServerTest, SocketAppearsOnlyWithItsFinalMode) {
  const std::string name = options_.socket_path.substr(options_.socket_path.rfind('/') + 1);
  const mode_t old_umask = ::umask(0);
  const std::vector<std::string> seen = EntryEvents(dir_, name, [&] { StartServer(); });
  ::umask(old_umask);
  EXPECT_EQ(seen, std::vector<std::string>{"moved_to"});
  struct stat st;
  ASSERT_EQ(::lstat(options_.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(DirEntries(dir_), std::vector<std::string>{name});
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\nHost: docker\r\n\r\n")));
  EXPECT_TRUE(c.Read());
}

// The positive control for the test above: a plain bind then chmod (how the socket was made
// before) is seen as a create and an attrib, and between the two the socket is open to all.
TEST_F(ServerTest, BindThenChmodIsSeenWithAWindow) {
  const std::string path = dir_ + "/plain.sock";
  const mode_t old_umask = ::umask(0);
  mode_t window_mode = 0;
  const std::vector<std::string> seen = EntryEvents(dir_, "plain.sock", [&] {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    window_mode = st.st_mode & 07777;
    ASSERT_EQ(::chmod(path.c_str(), 0660), 0);
    ::close(fd);
  });
  ::umask(old_umask);
  ::unlink(path.c_str());
  EXPECT_EQ(seen, (std::vector<std::string>{"create", "attrib"}));
  EXPECT_EQ(window_mode, 0777u);
}

TEST_F(ServerTest, StopClosesConnectionsAndUnlinksSocket) {
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  ASSERT_TRUE(c.Read());
  server_->Stop();
  EXPECT_TRUE(c.ClosedWithoutData(10000));
  struct stat st;
  EXPECT_NE(::lstat(options_.socket_path.c_str(), &st), 0);
  EXPECT_EQ(errno, ENOENT);
  server_->Stop();  // idempotent
  Client late(options_.socket_path);
  EXPECT_FALSE(late.connected());
}

TEST_F(ServerTest, StaleSocketIsReplacedButOtherFilesAreNot) {
  {
    // Leave a stale socket file behind, as after a crash.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, options_.socket_path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
  }
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  ASSERT_TRUE(c.Read());
  server_.reset();

  const std::string file = dir_ + "/plain";
  FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  ServerOptions o = options_;
  o.socket_path = file;
  Server s(o, router_);
  EXPECT_EQ(s.Start().code(), absl::StatusCode::kFailedPrecondition);
  ::unlink(file.c_str());
}

TEST_F(ServerTest, ASecondServerOnALiveSocketIsRefusedAndTheFirstKeepsServing) {
  StartServer();
  struct stat before;
  ASSERT_EQ(::lstat(options_.socket_path.c_str(), &before), 0);
  EXPECT_EQ(CheckNotServed(options_.socket_path).code(), absl::StatusCode::kFailedPrecondition);
  {
    Server second(options_, router_);
    Status st = second.Start();
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(st.message(), options_.socket_path +
                                " is served by a running daemon: not taking it over (stop that "
                                "daemon first, or use another socket)");
  }  // its destructor (Stop) must not remove the first server's socket either
  struct stat after;
  ASSERT_EQ(::lstat(options_.socket_path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "OK");
}

TEST_F(ServerTest, CheckNotServedTellsLiveStaleAndAbsentSocketsApart) {
  EXPECT_TRUE(CheckNotServed(options_.socket_path).ok());  // no file
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, options_.socket_path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_TRUE(CheckNotServed(options_.socket_path).ok());  // bound, not listening: refused
  ASSERT_EQ(::listen(fd, 1), 0);
  // Listening counts as served even though nobody has accepted yet.
  EXPECT_EQ(CheckNotServed(options_.socket_path).code(), absl::StatusCode::kFailedPrecondition);
  ::close(fd);
  EXPECT_TRUE(CheckNotServed(options_.socket_path).ok());  // its server is gone: stale
  ::unlink(options_.socket_path.c_str());
}

// ---- Streaming routes.

TEST_F(ServerTest, StreamRouteReadsABodyBeyondTheLimitInPieces) {
  router_.AddStream(
      "POST", "/upload", [](const Request& req, const Params&, BodyReader& body, ResponseStream&) {
        size_t total = 0, biggest = 0;
        for (;;) {
          StatusOr<std::string_view> piece = body.Next();
          if (!piece.ok()) return Text("error", 500);
          if (piece->empty()) break;
          total += piece->size();
          biggest = std::max(biggest, piece->size());
        }
        return Text(
            nlohmann::json{{"total", total}, {"biggest", biggest}, {"held", req.body.size()}}
                .dump());
      });
  StartServer();  // body_limit 1 MiB
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("POST /v1.41/upload HTTP/1.1\r\n") + kHost +
                     "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'z') + "\r\n";
  for (int i = 0; i < 80; ++i) ASSERT_TRUE(c.Send(chunk));  // 5 MiB
  ASSERT_TRUE(c.Send("0\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["total"], 80u * 0x10000);
  EXPECT_LE(j["biggest"].get<size_t>(), 64u * 1024);
  EXPECT_EQ(j["held"], 0u);
  // A plain route on the same server keeps its limit.
  Client d(options_.socket_path);
  ASSERT_TRUE(
      d.Send(std::string("POST /echo HTTP/1.1\r\n") + kHost + "Content-Length: 10485760\r\n\r\n"));
  auto limited = d.Read();
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 413);
}

TEST_F(ServerTest, StreamRouteWithContentLengthBodyAndEarlyAnswer) {
  router_.AddStream("POST", "/first",
                    [](const Request&, const Params&, BodyReader& body, ResponseStream&) {
                      StatusOr<std::string_view> piece = body.Next();
                      return Text(piece.ok() ? std::string(piece->substr(0, 5)) : "error", 400);
                    });
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("POST /first HTTP/1.1\r\n") + kHost +
                     "Content-Length: 11\r\n\r\nhello world"));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->headers["connection"], "close");
  EXPECT_TRUE(c.ClosedWithoutData());
}

// Found by tests/integration/test_hostile_input.py: an upload with a Content-Length above the
// buffered routes' limit (a `docker load` through docker-py, curl -T) was refused with 413
// before the streaming route saw it.
TEST_F(ServerTest, StreamRouteTakesAContentLengthBodyBeyondTheLimit) {
  router_.AddStream("POST", "/upload",
                    [](const Request&, const Params&, BodyReader& body, ResponseStream&) {
                      size_t total = 0;
                      for (;;) {
                        StatusOr<std::string_view> piece = body.Next();
                        if (!piece.ok()) return Text("error", 500);
                        if (piece->empty()) break;
                        total += piece->size();
                      }
                      return Text(std::to_string(total));
                    });
  StartServer();  // body_limit 1 MiB
  Client c(options_.socket_path);
  const size_t size = 3 << 20;
  ASSERT_TRUE(c.Send(std::string("POST /upload HTTP/1.1\r\n") + kHost +
                     "Content-Length: " + std::to_string(size) + "\r\n\r\n"));
  const std::string piece(64 * 1024, 'u');
  for (size_t sent = 0; sent < size; sent += piece.size()) ASSERT_TRUE(c.Send(piece));
  auto r = c.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, std::to_string(size));
}

TEST_F(ServerTest, StreamedResponseIsChunkedAndEnds) {
  router_.AddStream("GET", "/stream",
                    [](const Request&, const Params&, BodyReader&, ResponseStream& out) {
                      out.Begin(200, {{"Content-Type", "application/vnd.docker.raw-stream"}});
                      for (const char* piece : {"one\n", "two\n", "three\n"}) out.Write(piece);
                      return Response{};
                    });
  StartServer();
  Client c(options_.socket_path);
  ASSERT_TRUE(c.Send(std::string("GET /stream HTTP/1.1\r\n") + kHost + "\r\n"));
  auto raw = c.ReadUntil("0\r\n\r\n");
  ASSERT_TRUE(raw);
  EXPECT_NE(raw->find("HTTP/1.1 200 OK\r\n"), std::string::npos);
  EXPECT_NE(raw->find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(raw->find("Content-Type: application/vnd.docker.raw-stream\r\n"), std::string::npos);
  EXPECT_NE(raw->find("Api-Version: 1.41\r\n"), std::string::npos);
  EXPECT_NE(raw->find("\r\n\r\n4\r\none\n\r\n4\r\ntwo\n\r\n6\r\nthree\n\r\n0\r\n\r\n"),
            std::string::npos)
      << *raw;
  EXPECT_TRUE(c.ClosedWithoutData());
}

TEST_F(ServerTest, FollowerSeesTheClientGoAndOthersAreServedMeanwhile) {
  // Shared with the handler's thread, which may still be leaving done->Open() when the test
  // body ends: the handler keeps them alive.
  auto saw_gone = std::make_shared<std::atomic<bool>>(false);
  auto done = std::make_shared<Gate>();
  router_.AddStream(
      "GET", "/follow",
      [saw_gone, done](const Request&, const Params&, BodyReader&, ResponseStream& out) {
        out.Begin(200, {});
        out.Write("first\n");
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!out.ClientGone() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        *saw_gone = out.ClientGone();
        done->Open();
        return Response{};
      });
  options_.worker_threads = 1;
  StartServer();
  {
    Client follower(options_.socket_path);
    ASSERT_TRUE(follower.Send(std::string("GET /follow HTTP/1.1\r\n") + kHost + "\r\n"));
    ASSERT_TRUE(follower.ReadUntil("first\n"));
    // The follower holds no worker: a plain request is served at once.
    Client other(options_.socket_path);
    ASSERT_TRUE(other.Send(std::string("GET /_ping HTTP/1.1\r\n") + kHost + "\r\n"));
    auto r = other.Read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "OK");
  }  // the follower disconnects
  ASSERT_TRUE(done->Wait());
  EXPECT_TRUE(*saw_gone);
}

TEST_F(ServerTest, TooManyStreamsAre503) {
  // Owned by the handler too: its thread may still be waking from Wait() when the test body
  // ends (a gate on the test's stack was destroyed under it — a hang under ASan).
  auto release = std::make_shared<Gate>();
  router_.AddStream("GET", "/hold",
                    [release](const Request&, const Params&, BodyReader&, ResponseStream& out) {
                      out.Begin(200, {});
                      out.Write("held\n");
                      release->Wait();
                      return Response{};
                    });
  options_.max_streams = 1;
  StartServer();
  Client a(options_.socket_path);
  ASSERT_TRUE(a.Send(std::string("GET /hold HTTP/1.1\r\n") + kHost + "\r\n"));
  ASSERT_TRUE(a.ReadUntil("held\n"));
  Client b(options_.socket_path);
  ASSERT_TRUE(b.Send(std::string("GET /hold HTTP/1.1\r\n") + kHost + "\r\n"));
  auto r = b.Read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  release->Open();
}

TEST_F(ServerTest, StreamRouteThroughDispatchIsBuffered) {
  router_.AddStream("POST", "/images/{name*}/push",
                    [](const Request& req, const Params& p, BodyReader& body, ResponseStream& out) {
                      auto piece = body.Next();
                      out.Begin(201, {{"X", "y"}});
                      out.Write(p.at("name") + "|" + std::string(*piece) + "|" + req.method);
                      return Response{};
                    });
  Request req;
  req.method = "POST";
  req.path = "/v1.41/images/127.0.0.1:5000/app/web:1/push";
  req.body = "data";
  Response r = router_.Dispatch(req);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "127.0.0.1:5000/app/web:1|data|POST");
}

}  // namespace
}  // namespace capsule::http
