// The unix-socket HTTP client against a real socket.
#include "cli/http_client.h"

#include <gtest/gtest.h>

#include "cli/daemon_error.h"
#include "cli/fake_daemon_test_util.h"

namespace capsule::cli {
namespace {

using testing::FakeDaemon;

TEST(HttpClientTest, SendsVersionedPathQueryAndBody) {
  FakeDaemon daemon;
  daemon.On("POST", "/things", {201, "{\"ok\":true}\n"});
  HttpClient client(DaemonHost{daemon.url(), daemon.socket_path()});
  auto res = client.Do({"POST", "/things", {{"filters", "{\"a b\":1}"}}, "{\"x\":1}", ""});
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, "{\"ok\":true}\n");
  EXPECT_EQ(res->headers["api-version"], "1.41");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1.41/things?filters=%7B%22a+b%22%3A1%7D");
  EXPECT_EQ(reqs[0].query["filters"], "{\"a b\":1}");
  EXPECT_EQ(reqs[0].body, "{\"x\":1}");
  EXPECT_EQ(reqs[0].headers["content-type"], "application/json");
}

TEST(HttpClientTest, NonSuccessStatusIsReturnedAndMappedByCall) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets/x", {404, "{\"message\":\"secret x not found\"}\n"});
  HttpClient client(DaemonHost{daemon.url(), daemon.socket_path()});
  auto res = client.Do({"GET", "/secrets/x", {}, "", ""});
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 404);
  auto mapped = Call(client, {"GET", "/secrets/x", {}, "", ""});
  ASSERT_FALSE(mapped.ok());
  EXPECT_EQ(mapped.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(mapped.status().message(), "Error response from daemon: secret x not found");
}

TEST(HttpClientTest, EmptyBodiesAndHead) {
  FakeDaemon daemon;
  daemon.On("DELETE", "/secrets/x", {204, ""});
  daemon.On("HEAD", "/_ping", {200, "OK", "text/plain"});
  HttpClient client(DaemonHost{daemon.url(), daemon.socket_path()});
  auto del = client.Do({"DELETE", "/secrets/x", {}, "", ""});
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(del->status, 204);
  EXPECT_EQ(del->body, "");
  auto head = client.Do({"HEAD", "/_ping", {}, "", ""});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailableWithDockerLikeMessage) {
  std::string path;
  {
    FakeDaemon gone;  // its socket file is removed with it
    path = gone.socket_path();
  }
  HttpClient client(DaemonHost{"unix://" + path, path});
  auto res = client.Do({"GET", "/version", {}, "", ""});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(res.status().message(),
            "Cannot connect to the Capsule daemon at unix://" + path + ". Is capsuled running?");
}

TEST(HttpClientTest, TooLongSocketPathIsAnErrorNotACrash) {
  std::string path = "/tmp/" + std::string(200, 'x');
  HttpClient client(DaemonHost{"unix://" + path, path});
  auto res = client.Do({"GET", "/version", {}, "", ""});
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(DaemonErrorTest, NonJsonBodyIsUsedAsIs) {
  HttpResponse res{500, "boom\n", {}};
  EXPECT_EQ(DaemonError(res).message(), "Error response from daemon: boom");
  EXPECT_EQ(DaemonError(res).code(), absl::StatusCode::kUnknown);
  HttpResponse conflict{409, "{\"message\":\"exists\"}", {}};
  EXPECT_EQ(DaemonError(conflict).code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace capsule::cli
