#include "common/go_time.h"

#include <gtest/gtest.h>

namespace capsule {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

// 2026-11-28T10:20:30.5Z
const TimePoint kNow = FromUnixNanos(1795861230500000000);

int64_t UnixNanos(const std::string& value, seconds local_offset = seconds(0)) {
  StatusOr<TimePoint> t = ParseDockerTimestamp(value, kNow, local_offset);
  EXPECT_TRUE(t.ok()) << value << ": " << t.status();
  return t.ok() ? ToUnixNanos(*t) : -1;
}

TEST(ParseDockerTimestamp, DurationsCountBackFromNowInWholeSeconds) {
  EXPECT_EQ(UnixNanos("10m"), (1795861230 - 600) * 1000000000LL);
  EXPECT_EQ(UnixNanos("1h30m"), (1795861230 - 5400) * 1000000000LL);
  EXPECT_EQ(UnixNanos("0s"), 1795861230 * 1000000000LL);
  EXPECT_EQ(UnixNanos("-1m"), (1795861230 + 60) * 1000000000LL);  // in the future
}

TEST(ParseDockerTimestamp, UnixSecondsAsTheClisSendThem) {
  EXPECT_EQ(UnixNanos("0"), 0);
  EXPECT_EQ(UnixNanos("1795861200"), 1795861200 * 1000000000LL);
  EXPECT_EQ(UnixNanos("1795861200.000000001"), 1795861200 * 1000000000LL + 1);
  EXPECT_EQ(UnixNanos("1795861200.5"), 1795861200 * 1000000000LL + 500000000);
}

TEST(ParseDockerTimestamp, Rfc3339TimesAndDatesWithAndWithoutZone) {
  const int64_t base = 1795861200LL * 1000000000;  // 2026-11-28T10:20:00Z
  EXPECT_EQ(UnixNanos("2026-11-28T10:20:00Z"), base);
  EXPECT_EQ(UnixNanos("2026-11-28T10:20:00.25Z"), base + 250000000);
  EXPECT_EQ(UnixNanos("2026-11-28T11:20:00+01:00"), base);
  EXPECT_EQ(UnixNanos("2026-11-28T09:20:00.000000001-01:00"), base + 1);
  EXPECT_EQ(UnixNanos("2026-11-28T10:20+00:00"), base);
  EXPECT_EQ(UnixNanos("2026-11-28T10Z"), base - 20 * 60 * 1000000000LL);
  EXPECT_EQ(UnixNanos("2026-11-28Z"), base - (10 * 3600 + 20 * 60) * 1000000000LL);
  // Without a zone: the local one.
  EXPECT_EQ(UnixNanos("2026-11-28T11:20:00", hours(1)), base);
  EXPECT_EQ(UnixNanos("2026-11-28T11:20", hours(1)), base);
  EXPECT_EQ(UnixNanos("2026-11-28T10", seconds(0)), base - 20 * 60 * 1000000000LL);
  EXPECT_EQ(UnixNanos("2026-11-28", seconds(0)), base - (10 * 3600 + 20 * 60) * 1000000000LL);
}

TEST(ParseDockerTimestamp, BadValuesGiveDockersMessage) {
  for (const std::string bad : {"yesterday", "", "10x", "1.2.3", "2026-13-01", "2026-02-30",
                                "2026-11-28T25:00:00Z", "2026-11-28T10:20:00Zjunk", "1e9", "-5"}) {
    StatusOr<TimePoint> t = ParseDockerTimestamp(bad, kNow, seconds(0));
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(t.status().message(), "failed to parse value as time or duration: \"" + bad + "\"");
  }
  EXPECT_EQ(ParseDockerTimestamp("a\"b\n", kNow, seconds(0)).status().message(),
            "failed to parse value as time or duration: \"a\\\"b\\n\"");
}

}  // namespace
}  // namespace capsule
