#include <gtest/gtest.h>

#include <stdexcept>

#include "dockerapi/http/server.h"
#include "dockerapi/http/url.h"

namespace capsule::http {
namespace {

Request Req(std::string method, std::string target) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  EXPECT_TRUE(ParseTarget(&r).ok()) << r.target;
  return r;
}

Handler Echo(std::string tag) {
  return [tag](const Request&, const Params& params) {
    Response r;
    r.body = tag;
    for (const auto& [k, v] : params) r.body += " " + k + "=" + v;
    return r;
  };
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add("GET", "/_ping", Echo("ping"));
    router_.Add("GET", "/secrets", Echo("list"));
    router_.Add("GET", "/secrets/{id}", Echo("inspect"));
    router_.Add("POST", "/secrets/{id}/update", Echo("update"));
    router_.Add("DELETE", "/secrets/{id}", Echo("delete"));
    router_.Add("GET", "/boom", [](const Request&, const Params&) -> Response {
      throw std::runtime_error("kaboom");
    });
  }
  Router router_;
};

TEST_F(RouterTest, MatchesLiteralsAndParams) {
  std::string pattern;
  EXPECT_EQ(router_.Dispatch(Req("GET", "/secrets"), &pattern).body, "list");
  EXPECT_EQ(pattern, "/secrets");
  EXPECT_EQ(router_.Dispatch(Req("GET", "/secrets/abc?x=1"), &pattern).body, "inspect id=abc");
  EXPECT_EQ(pattern, "/secrets/{id}");
  EXPECT_EQ(router_.Dispatch(Req("POST", "/secrets/abc/update")).body, "update id=abc");
  EXPECT_EQ(router_.Dispatch(Req("DELETE", "/secrets/abc")).body, "delete id=abc");
}

TEST_F(RouterTest, StripsVersionPrefix) {
  EXPECT_EQ(router_.Dispatch(Req("GET", "/v1.41/secrets/abc")).body,
            "inspect __version=1.41 id=abc");
  EXPECT_EQ(router_.Dispatch(Req("GET", "/v1.25/_ping")).body, "ping __version=1.25");
  // Not a version segment: no match.
  EXPECT_EQ(router_.Dispatch(Req("GET", "/vx.41/secrets")).status, 404);
  EXPECT_EQ(router_.Dispatch(Req("GET", "/v1/secrets")).status, 404);
}

TEST_F(RouterTest, UnknownRouteAndWrongMethodArePageNotFound) {
  std::string pattern = "unset";
  Response r = router_.Dispatch(Req("GET", "/nope"), &pattern);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"message\":\"page not found\"}\n");
  EXPECT_EQ(pattern, "");
  EXPECT_EQ(router_.Dispatch(Req("PUT", "/secrets/abc")).status, 404);
  EXPECT_EQ(router_.Dispatch(Req("GET", "/secrets/")).status, 404);  // empty {id}
  EXPECT_EQ(router_.Dispatch(Req("GET", "/secrets/a/b")).status, 404);
  EXPECT_EQ(router_.Dispatch(Req("GET", "/secrets/a%2Fb")).status, 404);  // decoded first

  router_.SetNotFound([](const Request&, const Params&) {
    Response r;
    r.status = 404;
    r.body = "custom";
    return r;
  });
  EXPECT_EQ(router_.Dispatch(Req("GET", "/nope")).body, "custom");
}

TEST_F(RouterTest, HeadFallsBackToGet) {
  EXPECT_EQ(router_.Dispatch(Req("HEAD", "/_ping")).body, "ping");
  EXPECT_EQ(router_.Dispatch(Req("HEAD", "/secrets/x/update")).status, 404);
}

TEST_F(RouterTest, HandlerExceptionBecomes500) {
  Response r = router_.Dispatch(Req("GET", "/boom"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "{\"message\":\"kaboom\"}\n");
}

TEST(UrlTest, ParsesAndDecodesTarget) {
  Request r = Req("GET",
                  "/v1.41/secrets/a%20b?filters=%7B%22name%22%3A%5B%22x%22%5D%7D&x=1&x=2"
                  "&sp=a+b%2Bc&flag&bad=%zz&semi=a;b");
  EXPECT_EQ(r.path, "/v1.41/secrets/a b");
  EXPECT_EQ(r.query["filters"], R"({"name":["x"]})");
  EXPECT_EQ(r.query["x"], "2");
  EXPECT_EQ(r.query_all["x"], (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(r.query["sp"], "a b+c");
  EXPECT_EQ(r.query.count("flag"), 1u);
  EXPECT_EQ(r.query.count("bad"), 0u);
  EXPECT_EQ(r.query.count("semi"), 0u);

  Request bad;
  bad.target = "/secrets/%zz";
  EXPECT_EQ(ParseTarget(&bad).code(), absl::StatusCode::kInvalidArgument);
  bad.target = "/secrets/%4";
  EXPECT_FALSE(ParseTarget(&bad).ok());
}

TEST(UrlTest, WipeRequestEmptiesTargetQueryAndBody) {
  Request r =
      Req("POST", "/v1.41/secrets/create?Name=x&Data=c2VjcmV0LWRhdGEtaW4tdGhlLXF1ZXJ5&Data=b");
  r.body = R"({"Name":"x","Data":"c2VjcmV0"})";
  ASSERT_EQ(r.query.at("Data"), "b");  // the last value wins, as before
  ASSERT_EQ(r.query_all.at("Data").size(), 2u);
  WipeRequest(&r);
  EXPECT_TRUE(r.target.empty());
  EXPECT_TRUE(r.path.empty());
  EXPECT_TRUE(r.query.empty());
  EXPECT_TRUE(r.query_all.empty());
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.method, "POST");
}

TEST(UrlTest, WipeRequestEmptiesHeaderValues) {
  Request r = Req("POST", "/services/create");
  r.headers["x-registry-auth"] = "eyJwYXNzd29yZCI6InB3In0";
  WipeRequest(&r);
  EXPECT_TRUE(r.headers.at("x-registry-auth").empty());
}

TEST(UrlTest, StripApiVersion) {
  std::string p = "/v1.41/secrets";
  EXPECT_EQ(StripApiVersion(&p), "1.41");
  EXPECT_EQ(p, "/secrets");
  p = "/v1.41";
  EXPECT_EQ(StripApiVersion(&p), "1.41");
  EXPECT_EQ(p, "/");
  for (std::string q : {"/v1.41x/secrets", "/v1./a", "/v.1/a", "/version", "/secrets"}) {
    std::string copy = q;
    EXPECT_EQ(StripApiVersion(&copy), "") << q;
    EXPECT_EQ(copy, q);
  }
}

TEST(RouterRestParam, MatchesImageNamesWithSlashesAndColons) {
  Router router;
  router.Add("GET", "/images/json", Echo("list"));
  router.Add("GET", "/images/{name*}/json", Echo("inspect"));
  router.Add("DELETE", "/images/{name*}", Echo("delete"));
  EXPECT_EQ(router.Dispatch(Req("GET", "/v1.41/images/json")).body, "list __version=1.41");
  EXPECT_EQ(router.Dispatch(Req("GET", "/images/busybox/json")).body, "inspect name=busybox");
  EXPECT_EQ(router.Dispatch(Req("GET", "/images/127.0.0.1:5000/app/web:1/json")).body,
            "inspect name=127.0.0.1:5000/app/web:1");
  EXPECT_EQ(router.Dispatch(Req("GET", "/images/json/json")).body, "inspect name=json");
  EXPECT_EQ(router.Dispatch(Req("DELETE", "/images/capsule/busybox:1")).body,
            "delete name=capsule/busybox:1");
  EXPECT_EQ(router.Dispatch(Req("GET", "/images//json")).status, 404);
  EXPECT_EQ(router.Dispatch(Req("DELETE", "/images")).status, 404);
}

}  // namespace
}  // namespace capsule::http
