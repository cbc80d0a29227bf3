#include "agent/executor/task_logs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "agent/executor/fs_util.h"
#include "agent/executor/layout.h"
#include "agent/executor/log_codec.h"

namespace capsule::agent {
namespace {

TEST(LogCodecTest, RoundTripsDockerJsonFileFormat) {
  LogLine line{FromUnixNanos(1'795'000'000'123'456'700), 2, "héllo \"x\"\n"};
  const std::string record = EncodeLogLine(line);
  EXPECT_EQ(record, "{\"log\":\"héllo \\\"x\\\"\\n\",\"stream\":\"stderr\",\"time\":\"" +
                        FormatRfc3339Nano(line.time) + "\"}\n");
  auto back = DecodeLogLine(record);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->text, line.text);
  EXPECT_EQ(back->stream, 2);
  EXPECT_EQ(back->time, line.time);
}

TEST(LogCodecTest, InvalidUtf8BecomesReplacementCharacter) {
  auto back = DecodeLogLine(EncodeLogLine({FromUnixNanos(1), 1,
                                           "a\xff"
                                           "b"}));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->text,
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(DecodeLogLine("{nope").status().code(), absl::StatusCode::kDataLoss);
}

class TaskLogsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/capsule-logs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ASSERT_TRUE(MakeDir(LogsDir(root_), 0700).ok());
    ASSERT_TRUE(MakeDir(LogDirFor(root_, "t1"), 0700).ok());
    fd_.Reset(::open(LogFileFor(root_, "t1").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600));
    ASSERT_TRUE(fd_.valid());
    ASSERT_EQ(::flock(fd_.get(), LOCK_EX), 0);  // as the shim does while it lives
    logs_ = NewTaskLogs(root_);
  }
  void TearDown() override {
    fd_.Reset();
    ASSERT_TRUE(RemoveTree(root_).ok());
  }
  void Write(int stream, const std::string& text,
             TimePoint time = std::chrono::system_clock::now()) {
    ASSERT_TRUE(WriteAll(fd_.get(), EncodeLogLine({time, stream, text}), "log").ok());
  }
  std::vector<std::string> ReadAll(const LogQuery& q) {
    std::vector<std::string> out;
    Status st = logs_->Read("t1", q, [&](const LogLine& l) {
      out.push_back(std::to_string(l.stream) + ":" + l.text);
      return true;
    });
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }
  std::string root_;
  UniqueFd fd_;
  std::unique_ptr<TaskLogs> logs_;
};

TEST_F(TaskLogsTest, AllTailAndStreamSelection) {
  Write(1, "a\n");
  Write(2, "b\n");
  Write(1, "c\n");
  Write(1, "partial");
  EXPECT_EQ(ReadAll({}), (std::vector<std::string>{"1:a\n", "2:b\n", "1:c\n", "1:partial"}));
  LogQuery tail2;
  tail2.tail = 2;
  EXPECT_EQ(ReadAll(tail2), (std::vector<std::string>{"1:c\n", "1:partial"}));
  LogQuery tail0;
  tail0.tail = 0;
  EXPECT_TRUE(ReadAll(tail0).empty());
  LogQuery err_only;
  err_only.stdout_lines = false;
  EXPECT_EQ(ReadAll(err_only), (std::vector<std::string>{"2:b\n"}));
  LogQuery out_tail1;
  out_tail1.stderr_lines = false;
  out_tail1.tail = 1;
  EXPECT_EQ(ReadAll(out_tail1), (std::vector<std::string>{"1:partial"}));
}

TEST_F(TaskLogsTest, SinceLeavesOutLinesWrittenBeforeIt) {
  const TimePoint t0 = FromUnixNanos(1795861200000000000);
  Write(1, "old\n", t0);
  Write(2, "olderr\n", t0 + std::chrono::milliseconds(999));
  Write(1, "new\n", t0 + std::chrono::seconds(1));
  Write(2, "newerr\n", t0 + std::chrono::seconds(2));
  LogQuery since;
  since.since = t0 + std::chrono::seconds(1);  // a line written at `since` is kept
  EXPECT_EQ(ReadAll(since), (std::vector<std::string>{"1:new\n", "2:newerr\n"}));
  since.tail = 3;  // the last three lines, of which those since
  EXPECT_EQ(ReadAll(since), (std::vector<std::string>{"1:new\n", "2:newerr\n"}));
  since.since = t0 + std::chrono::seconds(3);
  EXPECT_TRUE(ReadAll(since).empty());
}

TEST_F(TaskLogsTest, UnknownTaskIsNotFound) {
  Status st = logs_->Read("nope", {}, [](const LogLine&) { return true; });
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  st = logs_->Read("../x", {}, [](const LogLine&) { return true; });
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
}

TEST_F(TaskLogsTest, FollowDeliversNewLinesUntilTheWriterLetsGo) {
  Write(1, "old\n");
  std::thread writer([this] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Write(1, "new1\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Write(2, "new2\n");
    fd_.Reset();  // the shim exits: its lock goes
  });
  LogQuery q;
  q.follow = true;
  q.tail = 1;
  std::vector<std::string> got = ReadAll(q);
  writer.join();
  EXPECT_EQ(got, (std::vector<std::string>{"1:old\n", "1:new1\n", "2:new2\n"}));
}

TEST_F(TaskLogsTest, FollowStopsWhenSinkOrCancelSaysSo) {
  Write(1, "a\n");
  Write(1, "b\n");
  int calls = 0;
  LogQuery q;
  q.follow = true;
  Status st = logs_->Read("t1", q, [&](const LogLine&) { return ++calls < 1; });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 1);
  std::atomic<bool> stop{false};
  q.cancelled = [&] { return stop.load(); };
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  calls = 0;
  st = logs_->Read("t1", q, [&](const LogLine&) { return ++calls > 0; });
  canceller.join();
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace capsule::agent
