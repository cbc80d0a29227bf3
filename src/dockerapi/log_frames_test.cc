// Docker's log stream framing, byte for byte.
#include "dockerapi/log_frames.h"

#include <gtest/gtest.h>

namespace capsule::dockerapi {
namespace {

LogLine Line(int stream, std::string text) {
  LogLine l;
  l.time = FromUnixNanos(1795833234916834300);  // 2026-11-28T02:33:54.9168343Z
  l.stream = stream;
  l.text = std::move(text);
  return l;
}

TEST(LogFrame, HeaderIsStreamThreeZerosAndBigEndianLength) {
  const std::string f = LogFrame(Line(1, "hello\n"), {});
  ASSERT_EQ(f.size(), 8u + 6u);
  EXPECT_EQ(f.substr(0, 8), std::string("\x01\x00\x00\x00\x00\x00\x00\x06", 8));
  EXPECT_EQ(f.substr(8), "hello\n");
  EXPECT_EQ(LogFrame(Line(2, "e\n"), {})[0], '\x02');
  const std::string big = LogFrame(Line(1, std::string(0x010203, 'x')), {});
  EXPECT_EQ(big.substr(4, 4), std::string("\x00\x01\x02\x03", 4));
}

TEST(LogFrame, DetailsThenLineAndTimestampFirst) {
  LogFrameOptions o;
  o.details = SwarmLogDetails("N1", "S1", "T1");
  EXPECT_EQ(LogFrame(Line(1, "x\n"), o).substr(8),
            "com.docker.swarm.node.id=N1,com.docker.swarm.service.id=S1,"
            "com.docker.swarm.task.id=T1 x\n");
  o.timestamps = true;
  EXPECT_EQ(LogFrame(Line(1, "x\n"), o).substr(8),
            "2026-11-28T02:33:54.916834300Z com.docker.swarm.node.id=N1,"
            "com.docker.swarm.service.id=S1,com.docker.swarm.task.id=T1 x\n");
}

TEST(LogFrame, FixedNanosecondTimestamps) {
  EXPECT_EQ(FormatRfc3339NanoFixed(FromUnixNanos(0)), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339NanoFixed(FromUnixNanos(1500000000)), "1970-01-01T00:00:01.500000000Z");
}

}  // namespace
}  // namespace capsule::dockerapi
