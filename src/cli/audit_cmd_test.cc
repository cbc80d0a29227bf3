// `capsule audit` against a fake daemon: the query it sends and the table it prints.
#include <gtest/gtest.h>

#include "cli/fake_daemon_test_util.h"

namespace capsule::cli {
namespace {

using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;

constexpr char kEvents[] = R"([
 {"Time":"2026-12-07T06:45:01.123456789Z","Action":"create","SecretID":"k3l9xq2abcdefghijklmnopqr",
  "SecretName":"pw","Version":1,"Caller":{"UID":1000,"GID":1000,"PID":4242},"RecordedBy":"m1"},
 {"Time":"2026-12-07T06:45:02Z","Action":"deliver","SecretID":"k3l9xq2abcdefghijklmnopqr",
  "SecretName":"pw","Version":1,"NodeID":"w1nodeid","RecordedBy":"m1"},
 {"Time":"2026-12-07T06:46:00Z","Action":"remove","SecretID":"k3l9xq2abcdefghijklmnopqr",
  "SecretName":"pw","Version":1,"Caller":{"UID":0,"GID":0,"PID":7},"RecordedBy":"m1"}
])";

TEST(AuditCmdTest, PrintsATableOldestFirst) {
  FakeDaemon daemon;
  daemon.On("GET", "/capsule/audit", {200, kEvents});
  CliResult r = RunAgainst(daemon, {"audit"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "TIME                   ACTION    SECRET    ID                          VERSION   BY\n"
            "2026-12-07T06:45:01Z   create    pw        k3l9xq2abcdefghijklmnopqr   1         "
            "uid=1000 pid=4242\n"
            "2026-12-07T06:45:02Z   deliver   pw        k3l9xq2abcdefghijklmnopqr   1         "
            "node w1nodeid\n"
            "2026-12-07T06:46:00Z   remove    pw        k3l9xq2abcdefghijklmnopqr   1         "
            "uid=0 pid=7\n");
  ASSERT_EQ(daemon.requests().size(), 1u);
  EXPECT_TRUE(daemon.requests()[0].query.empty());
}

TEST(AuditCmdTest, SendsSinceAndSecret) {
  FakeDaemon daemon;
  daemon.On("GET", "/capsule/audit", {200, "[]"});
  CliResult r = RunAgainst(daemon, {"audit", "--since", "1h", "--secret", "pw"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "TIME      ACTION    SECRET    ID        VERSION   BY\n");
  ASSERT_EQ(daemon.requests().size(), 1u);
  EXPECT_EQ(daemon.requests()[0].query.at("since"), "1h");
  EXPECT_EQ(daemon.requests()[0].query.at("secret"), "pw");
}

TEST(AuditCmdTest, ShowsTheDaemonsError) {
  FakeDaemon daemon;
  daemon.On("GET", "/capsule/audit",
            {503, R"({"message":"This node is not a swarm manager. Worker nodes can't be used"})"});
  CliResult r = RunAgainst(daemon, {"audit"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("This node is not a swarm manager."), std::string::npos) << r.err;
}

TEST(AuditCmdTest, TakesNoArguments) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"audit", "pw"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("\"capsule audit\" accepts no arguments"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace capsule::cli
