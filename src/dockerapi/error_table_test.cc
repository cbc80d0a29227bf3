#include "dockerapi/error_table.h"

#include <gtest/gtest.h>

#include "dockerapi/route_helpers.h"

namespace capsule::dockerapi {
namespace {

TEST(ErrorTable, MapsCodesLikeTheDockerEngine) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnknown), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFor(StatusCode::kDataLoss), 500);
}

TEST(ErrorTable, RpcErrorAddsTheGrpcPrefix) {
  Status s = RpcError(absl::AlreadyExistsError("secret pw already exists"));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(std::string(s.message()),
            "rpc error: code = AlreadyExists desc = secret pw already exists");
  EXPECT_EQ(std::string(RpcError(absl::UnknownError("update out of sequence")).message()),
            "rpc error: code = Unknown desc = update out of sequence");
}

TEST(ErrorTable, ErrorBodyIsDockerShapedWithNewline) {
  http::Response r = ErrorResponse(absl::NotFoundError("secret x not found"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "{\"message\":\"secret x not found\"}\n");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "application/json");
}

TEST(ErrorTable, EscapesHtmlCharactersLikeGo) {
  http::Response r = ErrorResponse(absl::InvalidArgumentError("invalid character '<' x & y"));
  EXPECT_EQ(r.body, "{\"message\":\"invalid character '\\u003c' x \\u0026 y\"}\n");
}

TEST(ParseUint64, AcceptsOnlyPlainDecimal) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseUint64("23", &v));
  EXPECT_EQ(v, 23u);
  EXPECT_TRUE(ParseUint64("18446744073709551615", &v));
  for (const char* bad : {"", "abc", "+1", "-1", " 1", "1 ", "18446744073709551616", "1.0"}) {
    EXPECT_FALSE(ParseUint64(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace capsule::dockerapi

namespace capsule::dockerapi {
namespace {

TEST(VersionQuery, ParsesOrExplainsLikeTheEngine) {
  http::Request req;
  req.query["version"] = "42";
  ASSERT_TRUE(VersionQuery(req, "node").ok());
  EXPECT_EQ(*VersionQuery(req, "node"), 42u);
  req.query["version"] = "x1";
  EXPECT_EQ(std::string(VersionQuery(req, "swarm").status().message()),
            "invalid swarm version 'x1': strconv.ParseUint: parsing \"x1\": invalid syntax");
  req.query.clear();
  EXPECT_EQ(std::string(VersionQuery(req, "node").status().message()),
            "invalid node version '': strconv.ParseUint: parsing \"\": invalid syntax");
}

}  // namespace
}  // namespace capsule::dockerapi
