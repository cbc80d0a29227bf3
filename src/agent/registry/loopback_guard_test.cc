#include "agent/registry/loopback_guard.h"

#include <gtest/gtest.h>

namespace capsule::agent::registry {
namespace {

class CountingTransport final : public HttpTransport {
 public:
  StatusOr<HttpResponse> Do(const HttpRequest&, const BodySink*, size_t) override {
    ++calls;
    HttpResponse r;
    r.status = 200;
    return r;
  }
  int calls = 0;
};

TEST(LoopbackGuard, UrlHostDropsSchemePortPathAndUserinfo) {
  EXPECT_EQ(UrlHost("https://registry-1.docker.io/v2/"), "registry-1.docker.io");
  EXPECT_EQ(UrlHost("http://127.0.48.1:5000/v2/x/blobs/sha256:ab"), "127.0.48.1");
  EXPECT_EQ(UrlHost("https://[::1]:5000/v2/"), "::1");
  EXPECT_EQ(UrlHost("https://u:p@evil.example:443/x"), "evil.example");
  EXPECT_EQ(UrlHost("https://127.0.0.1@evil.example/x"), "evil.example");
  EXPECT_EQ(UrlHost("no-scheme"), "");
}

TEST(LoopbackGuard, LoopbackHostsAreOnlyTheLoopbackOnes) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.255.3.4"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.1.evil.example"));
  EXPECT_FALSE(IsLoopbackHost("registry-1.docker.io"));
  EXPECT_FALSE(IsLoopbackHost(""));
}

TEST(LoopbackGuard, APublicRegistryIsRefusedBeforeTheInnerTransportIsCalled) {
  CountingTransport inner;
  std::unique_ptr<HttpTransport> guard = NewLoopbackOnlyTransport(inner);
  HttpRequest req;
  req.url = "https://registry-1.docker.io/v2/library/busybox/manifests/latest";
  StatusOr<HttpResponse> got = guard->Do(req, nullptr, 1024);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(got.status().message().find("registry-1.docker.io refused"), std::string::npos);
  EXPECT_EQ(inner.calls, 0);
}

TEST(LoopbackGuard, ALoopbackRegistryIsPassedThrough) {
  CountingTransport inner;
  std::unique_ptr<HttpTransport> guard = NewLoopbackOnlyTransport(inner);
  HttpRequest req;
  req.url = "https://127.0.44.9:5000/v2/";
  StatusOr<HttpResponse> got = guard->Do(req, nullptr, 1024);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(inner.calls, 1);
}

}  // namespace
}  // namespace capsule::agent::registry
