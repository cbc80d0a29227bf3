#include "agent/shim/line_splitter.h"

#include <gtest/gtest.h>

#include "agent/executor/log_codec.h"

namespace capsule::agent {
namespace {

using std::chrono::milliseconds;

const LineSplitter::Instant kT0 = std::chrono::steady_clock::time_point(std::chrono::hours(1));

TEST(LineSplitterTest, SplitsAtNewlinesAcrossFeeds) {
  std::vector<std::string> lines;
  LineSplitter s([&](std::string l) { lines.push_back(std::move(l)); });
  s.Feed("a\nb", kT0);
  s.Feed("c\n\nd", kT0);
  EXPECT_EQ(lines, (std::vector<std::string>{"a\n", "bc\n", "\n"}));
  s.Finish();
  EXPECT_EQ(lines.back(), "d\n");  // the end of the stream completes the last line
  s.Finish();
  EXPECT_EQ(lines.size(), 4u);
}

TEST(LineSplitterTest, LongLinesAreCutAtTheLimit) {
  std::vector<std::string> lines;
  LineSplitter s([&](std::string l) { lines.push_back(std::move(l)); });
  s.Feed(std::string(kMaxLogLine + 10, 'x') + "\n", kT0);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), kMaxLogLine);
  EXPECT_EQ(lines[1], std::string(10, 'x') + "\n");
}

TEST(LineSplitterTest, APartialLineIsCompletedOnceTheStreamIsQuiet) {
  std::vector<std::string> lines;
  LineSplitter s([&](std::string l) { lines.push_back(std::move(l)); }, milliseconds(1000));
  EXPECT_FALSE(s.Due().has_value());
  s.Feed("first", kT0);
  ASSERT_TRUE(s.Due().has_value());
  EXPECT_EQ(*s.Due(), kT0 + milliseconds(1000));
  s.FlushIfDue(kT0 + milliseconds(999));
  EXPECT_TRUE(lines.empty());
  s.FlushIfDue(kT0 + milliseconds(1000));
  EXPECT_EQ(lines, (std::vector<std::string>{"first\n"}));
  EXPECT_FALSE(s.Due().has_value());
  s.Feed("second", kT0 + milliseconds(5000));
  s.Finish();
  EXPECT_EQ(lines, (std::vector<std::string>{"first\n", "second\n"}));
}

TEST(LineSplitterTest, MoreBytesOfTheSameLineRestartTheWait) {
  std::vector<std::string> lines;
  LineSplitter s([&](std::string l) { lines.push_back(std::move(l)); }, milliseconds(1000));
  s.Feed("a", kT0);
  s.Feed("b", kT0 + milliseconds(800));
  s.FlushIfDue(kT0 + milliseconds(1500));
  EXPECT_TRUE(lines.empty());
  EXPECT_EQ(*s.Due(), kT0 + milliseconds(1800));
  s.Feed("c\n", kT0 + milliseconds(1600));
  EXPECT_EQ(lines, (std::vector<std::string>{"abc\n"}));
  EXPECT_FALSE(s.Due().has_value());
}

}  // namespace
}  // namespace capsule::agent
