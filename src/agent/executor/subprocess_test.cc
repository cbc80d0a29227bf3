#include "agent/executor/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace capsule::agent {
namespace {

TEST(SubprocessTest, CapturesOutputsAndExitCode) {
  auto r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 4"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 4);
}

TEST(SubprocessTest, ChildGetsAMinimalEnvironmentAndOnlyItsFds) {
  ::setenv("CAPSULE_SUBPROCESS_TEST", "leak", 1);
  int leaky = ::open("/dev/null", O_RDONLY);  // not close-on-exec
  ASSERT_GE(leaky, 0);
  auto env = RunCommand({"/usr/bin/env"});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
  auto fds = RunCommand({"/bin/ls", "/proc/self/fd"});
  ASSERT_TRUE(fds.ok());
  EXPECT_EQ(fds->out, "0\n1\n2\n3\n");  // 3 is ls's own directory handle
  ::close(leaky);
}

TEST(SubprocessTest, MissingProgramAndTimeout) {
  EXPECT_EQ(RunCommand({"/nonexistent/prog"}).status().code(), absl::StatusCode::kNotFound);
  auto r = RunCommand({"/bin/sleep", "10"}, std::chrono::milliseconds(100));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace capsule::agent
