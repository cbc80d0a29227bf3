// Go-compatible helpers (durations, uints), the log demultiplexer and the streaming client.
#include <gtest/gtest.h>

#include <algorithm>

#include "cli/daemon_error.h"
#include "cli/fake_daemon_test_util.h"
#include "cli/go_format.h"
#include "cli/http_client.h"
#include "cli/log_stream.h"
#include "cli/service_flags.h"

namespace capsule::cli {
namespace {

TEST(GoDurationTest, ParsesLikeTimeParseDuration) {
  EXPECT_EQ(*ParseGoDuration("0"), 0);
  EXPECT_EQ(*ParseGoDuration("2s"), 2'000'000'000);
  EXPECT_EQ(*ParseGoDuration("1m30s"), 90'000'000'000);
  EXPECT_EQ(*ParseGoDuration("1.5h"), 5'400'000'000'000);
  EXPECT_EQ(*ParseGoDuration("500ms"), 500'000'000);
  EXPECT_EQ(*ParseGoDuration("-1us"), -1000);
  EXPECT_EQ(ParseGoDuration("x").status().message(), "time: invalid duration \"x\"");
  EXPECT_EQ(ParseGoDuration("5").status().message(), "time: missing unit in duration \"5\"");
  EXPECT_EQ(ParseGoDuration("5x").status().message(),
            "time: unknown unit \"x\" in duration \"5x\"");
}

TEST(GoDurationTest, FormatsLikeDurationString) {
  EXPECT_EQ(FormatGoDuration(0), "0s");
  EXPECT_EQ(FormatGoDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(FormatGoDuration(90'000'000'000), "1m30s");
  EXPECT_EQ(FormatGoDuration(3'600'000'000'000), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(500'000'000), "500ms");
  EXPECT_EQ(FormatGoDuration(1'500), "1.5\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(-2'000'000'000), "-2s");
}

TEST(GoUintTest, BaseZeroReadsOctalLikeDocker) {
  EXPECT_EQ(*ParseGoUint("0400", 0), 256u);
  EXPECT_EQ(*ParseGoUint("400", 0), 400u);
  EXPECT_EQ(*ParseGoUint("0x1f", 0), 31u);
  EXPECT_EQ(ParseGoUint("x", 10).status().message(),
            "strconv.ParseUint: parsing \"x\": invalid syntax");
  EXPECT_EQ(ParseGoUint("99999999999999999999", 10).status().message(),
            "strconv.ParseUint: parsing \"99999999999999999999\": value out of range");
}

TEST(SecretFlagTest, ShortAndLongForms) {
  SecretFlag s = *ParseSecretFlag("pw");
  EXPECT_EQ(s.source, "pw");
  EXPECT_EQ(s.target, "pw");
  EXPECT_EQ(s.uid, "0");
  EXPECT_EQ(s.mode, 0444u);
  s = *ParseSecretFlag("src=pw,target=/etc/x,uid=2000,gid=3000,mode=0400");
  EXPECT_EQ(s.source, "pw");
  EXPECT_EQ(s.target, "/etc/x");
  EXPECT_EQ(s.uid, "2000");
  EXPECT_EQ(s.gid, "3000");
  EXPECT_EQ(s.mode, 256u);
  EXPECT_EQ(ParseSecretFlag("source=pw,mode=9z").status().message(),
            "invalid mode specified: strconv.ParseUint: parsing \"9z\": invalid syntax");
  EXPECT_EQ(ParseSecretFlag("source=pw,uid").status().message(),
            "invalid field 'uid' must be a key=value pair");
}

std::string Frame(int stream, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  h[7] = static_cast<char>(payload.size());
  return h + payload;
}

TEST(LogDemuxerTest, FramesSplitAcrossReads) {
  std::vector<std::pair<int, std::string>> got;
  LogDemuxer demux([&](int stream, std::string_view p) {
    got.push_back({stream, std::string(p)});
    return absl::OkStatus();
  });
  const std::string all = Frame(1, "one\n") + Frame(2, "two\n") + Frame(1, "");
  for (char c : all) ASSERT_TRUE(demux.Feed(std::string_view(&c, 1)).ok());
  EXPECT_FALSE(demux.pending());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], std::make_pair(1, std::string("one\n")));
  EXPECT_EQ(got[1], std::make_pair(2, std::string("two\n")));
  EXPECT_EQ(got[2], std::make_pair(1, std::string("")));
  Status s = demux.Feed(Frame(3, "boom"));
  EXPECT_EQ(s.message(), "error from daemon in stream: boom");
}

TEST(HttpClientStreamTest, BodyArrivesInPiecesAndErrorsAreCollected) {
  testing::FakeDaemon daemon;
  const std::string big(300000, 'x');
  daemon.On("GET", "/big", {200, big, "application/octet-stream"});
  daemon.On("GET", "/bad", {404, "{\"message\":\"nope\"}\n"});
  HttpClient client(DaemonHost{daemon.url(), daemon.socket_path()});
  std::string got;
  int pieces = 0;
  auto res = client.Stream({"GET", "/big", {}, "", ""}, [&](std::string_view d) {
    got.append(d);
    ++pieces;
    return absl::OkStatus();
  });
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(got, big);
  EXPECT_GT(pieces, 1);
  auto bad = client.Stream({"GET", "/bad", {}, "", ""},
                           [&](std::string_view) { return absl::InternalError("not called"); });
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 404);
  EXPECT_EQ(DaemonError(*bad).message(), "Error response from daemon: nope");
  // A sink error stops the stream.
  auto stopped = client.Stream({"GET", "/big", {}, "", ""},
                               [&](std::string_view) { return absl::CancelledError("stop"); });
  EXPECT_EQ(stopped.status().message(), "stop");
}

TEST(HttpClientStreamTest, ChunkedUploadFromReader) {
  testing::FakeDaemon daemon;
  daemon.On("POST", "/up", {200, "{}"});
  HttpClient client(DaemonHost{daemon.url(), daemon.socket_path()});
  int calls = 0;
  HttpRequest req{"POST", "/up", {}, "", "text/plain"};
  req.body_reader = [&](char* buf, size_t cap) -> StatusOr<size_t> {
    if (calls++ == 3) return size_t{0};
    const size_t n = std::min<size_t>(cap, 10);
    std::fill(buf, buf + n, static_cast<char>('a' + calls));
    return n;
  };
  auto res = client.Do(req);
  ASSERT_TRUE(res.ok()) << res.status();
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, "bbbbbbbbbbccccccccccdddddddddd");
  EXPECT_EQ(reqs[0].headers["transfer-encoding"], "chunked");
  // A reader error aborts the request with that error.
  req.body_reader = [](char*, size_t) -> StatusOr<size_t> {
    return absl::DataLossError("disk on fire");
  };
  EXPECT_EQ(client.Do(req).status().message(), "disk on fire");
}

}  // namespace
}  // namespace capsule::cli
