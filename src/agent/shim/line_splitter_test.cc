#include "agent/shim/line_splitter.h"

#include <gtest/gtest.h>

#include "agent/executor/log_codec.h"

namespace capsule::agent {
namespace {

TEST(LineSplitterTest, SplitsAtNewlinesAcrossFeeds) {
  std::vector<std::string> lines;
  LineSplitter s([&](std::string l) { lines.push_back(std::move(l)); });
  s.Feed("a\nb");
  s.Feed("c\n\nd");
  EXPECT_EQ(lines, (std::vector<std::string>{"a\n", "bc\n", "\n"}));
  s.Finish();
  EXPECT_EQ(lines.back(), "d");
  s.Finish();
  EXPECT_EQ(lines.size(), 4u);
}

TEST(LineSplitterTest, LongLinesAreCutAtTheLimit) {
  std::vector<std::string> lines;
  LineSplitter s([&](std::string l) { lines.push_back(std::move(l)); });
  s.Feed(std::string(kMaxLogLine + 10, 'x') + "\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].size(), kMaxLogLine);
  EXPECT_EQ(lines[1], std::string(10, 'x') + "\n");
}

}  // namespace
}  // namespace capsule::agent
