// `capsule secret …` end to end against the fake daemon: requests sent and output printed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/app.h"
#include "cli/fake_daemon_test_util.h"

namespace capsule::cli {
namespace {

using ::capsule::testing::FakeClock;
using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;

TimePoint At(const std::string& rfc3339) {
  TimePoint t;
  EXPECT_TRUE(ParseRfc3339Nano(rfc3339, &t)) << rfc3339;
  return t;
}

constexpr char kSecretPw[] =
    R"({"ID":"ii7hxx1yoe1izupm6vw0qkdxd","Version":{"Index":35},"CreatedAt":"2026-11-28T00:27:18.140444032Z","UpdatedAt":"2026-11-28T00:27:18.140444032Z","Spec":{"Name":"pw","Labels":{}}})";
constexpr char kSecretZeta[] =
    R"({"ID":"bbbbbbbbbbbbbbbbbbbbbbbbb","Version":{"Index":12},"CreatedAt":"2026-11-27T22:27:18Z","UpdatedAt":"2026-11-28T00:27:13.5Z","Spec":{"Name":"zeta10","Labels":{"b":"2","a":""}}})";

TEST(SecretCreateTest, SendsBase64OfStdinBytesAndLabelsAndPrintsId) {
  FakeDaemon daemon;
  daemon.On("POST", "/secrets/create", {201, "{\"ID\":\"abcdefghijklmnopqrstuvwxy\"}\n"});
  const std::string data("s3cr3t\n\x00\xff", 9);
  CliResult r =
      RunAgainst(daemon, {"secret", "create", "--label", "a=b", "-l", "c", "pw", "-"}, data);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "abcdefghijklmnopqrstuvwxy\n");
  EXPECT_EQ(r.err, "");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/v1.41/secrets/create");
  // Byte for byte: the trailing newline, NUL and 0xff are all in the data.
  EXPECT_EQ(reqs[0].body,
            "{\"Name\":\"pw\",\"Labels\":{\"a\":\"b\",\"c\":\"\"},\"Data\":\"czNjcjN0CgD/\"}\n");
}

TEST(SecretCreateTest, ReadsFileAndSendsDriverAndTemplating) {
  FakeDaemon daemon;
  daemon.On("POST", "/secrets/create", {201, "{\"ID\":\"id1\"}\n"});
  char path[] = "/tmp/capsule-cli-secret-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "vm\n", 3), 3);
  close(fd);
  CliResult r = RunAgainst(daemon, {"secret", "create", "--template-driver", "golang", "x", path});
  unlink(path);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "id1\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(
      reqs[0].body,
      "{\"Name\":\"x\",\"Labels\":{},\"Data\":\"dm0K\",\"Templating\":{\"Name\":\"golang\"}}\n");
}

TEST(SecretCreateTest, EmptyDataIsLeftToTheDaemon) {
  FakeDaemon daemon;
  daemon.On("POST", "/secrets/create",
            {400,
             "{\"message\":\"rpc error: code = InvalidArgument desc = secret data must be larger "
             "than 0 and less than 512000 bytes\"}\n"});
  CliResult r = RunAgainst(daemon, {"secret", "create", "emptyone", "-"}, "");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error response from daemon: rpc error: code = InvalidArgument desc = secret data "
            "must be larger than 0 and less than 512000 bytes\n");
  ASSERT_EQ(daemon.requests().size(), 1u);
  EXPECT_EQ(daemon.requests()[0].body, "{\"Name\":\"emptyone\",\"Labels\":{},\"Data\":\"\"}\n");
}

TEST(SecretCreateTest, MissingFileFailsBeforeAnyRequest) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"secret", "create", "x", "/nonexistent/capsule-file"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Error reading content from \"/nonexistent/capsule-file\""),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(SecretCreateTest, ArgumentCountErrorLikeDocker) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"secret", "create"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "\"capsule secret create\" requires at least 1 and at most 2 arguments.\n"
            "See 'capsule secret create --help'.\n\n"
            "Usage:  capsule secret create [OPTIONS] SECRET [file|-]\n\n"
            "Create a secret from a file or STDIN as content\n");
  r = RunAgainst(daemon, {"secret", "create", "a", "b", "c"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(SecretCreateTest, DriverWithDataIsRejected) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"secret", "create", "--driver", "d", "x", "-"}, "abc");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "When using secret driver secret data must be empty\n");
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(SecretListTest, TableSortedByNameWithHumanTimes) {
  FakeDaemon daemon;
  daemon.On(
      "GET", "/secrets",
      {200,
       std::string("[") + kSecretZeta + "," + kSecretPw +
           R"(,{"ID":"aaaaaaaaaaaaaaaaaaaaaaaaa","Version":{"Index":11},"CreatedAt":"2026-11-28T00:26:48Z","UpdatedAt":"2026-11-28T00:26:48Z","Spec":{"Name":"zeta9","Labels":{},"Driver":{"Name":"vault"}}}])"
           "\n"});
  FakeClock clock(At("2026-11-28T00:27:18.5Z"));
  CliResult r = RunAgainst(daemon, {"secret", "ls"}, "", &clock);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID                          NAME      DRIVER    CREATED                  UPDATED\n"
            "ii7hxx1yoe1izupm6vw0qkdxd   pw                  Less than a second ago   Less than a "
            "second ago\n"
            "aaaaaaaaaaaaaaaaaaaaaaaaa   zeta9     vault     30 seconds ago           30 seconds "
            "ago\n"
            "bbbbbbbbbbbbbbbbbbbbbbbbb   zeta10              2 hours ago              5 seconds "
            "ago\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1.41/secrets");  // no filters → no query at all
}

TEST(SecretListTest, QuietPrintsIdsOnly) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets", {200, std::string("[") + kSecretZeta + "," + kSecretPw + "]"});
  CliResult r = RunAgainst(daemon, {"secret", "ls", "-q"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ii7hxx1yoe1izupm6vw0qkdxd\nbbbbbbbbbbbbbbbbbbbbbbbbb\n");
}

TEST(SecretListTest, EmptyListPrintsHeaderOnly) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets", {200, "[]\n"});
  CliResult r = RunAgainst(daemon, {"secret", "ls"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "ID        NAME      DRIVER    CREATED   UPDATED\n");
}

TEST(SecretListTest, FiltersAreSentAsDockerJson) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets", {200, "[]\n"});
  CliResult r = RunAgainst(
      daemon, {"secret", "ls", "--filter", "name=x", "-f", "label=a=b", "--filter", "name=y"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  // Byte for byte what docker 20.10 sends for the same flags.
  EXPECT_EQ(reqs[0].target,
            "/v1.41/secrets?filters=%7B%22label%22%3A%7B%22a%3Db%22%3Atrue%7D%2C%22name%22%3A%7B%"
            "22x%22%3Atrue%2C%22y%22%3Atrue%7D%7D");
}

TEST(SecretListTest, BadFilterIsAUsageError) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"secret", "ls", "--filter", "foo"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "invalid argument \"foo\" for \"-f, --filter\" flag: bad format of filter (expected "
            "name=value)\nSee 'capsule secret ls --help'.\n");
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(SecretListTest, FormatTemplate) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets", {200, std::string("[") + kSecretZeta + "," + kSecretPw + "]"});
  CliResult r = RunAgainst(daemon, {"secret", "ls", "--format", "{{.Name}}\\t{{.Labels}}"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "pw\t\nzeta10\ta=,b=2\n");
  r = RunAgainst(daemon, {"secret", "ls", "--format", "{{.Bogus}}"});
  EXPECT_EQ(r.code, 1);
}

TEST(SecretListTest, DaemonErrorExitCodeOne) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets",
            {503,
             "{\"message\":\"This node is not a swarm manager. Use \\\"docker swarm init\\\" or "
             "\\\"docker swarm join\\\" to connect this node to swarm and try again.\"}\n"});
  CliResult r = RunAgainst(daemon, {"secret", "ls"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Error response from daemon: This node is not a swarm manager. Use \"docker swarm "
            "init\" or \"docker swarm join\" to connect this node to swarm and try again.\n");
}

constexpr char kPwIndented[] = R"([
    {
        "ID": "ii7hxx1yoe1izupm6vw0qkdxd",
        "Version": {
            "Index": 35
        },
        "CreatedAt": "2026-11-28T00:27:18.140444032Z",
        "UpdatedAt": "2026-11-28T00:27:18.140444032Z",
        "Spec": {
            "Name": "pw",
            "Labels": {}
        }
    }
]
)";

TEST(SecretInspectTest, PrintsIndentedArrayLikeDocker) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets/pw", {200, std::string(kSecretPw) + "\n"});
  CliResult r = RunAgainst(daemon, {"secret", "inspect", "pw"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, kPwIndented);  // the oracle's `docker secret inspect pw`
}

TEST(SecretInspectTest, UnknownSecretPrintsEmptyArrayAndFails) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets/nosuch", {404, "{\"message\":\"secret nosuch not found\"}\n"});
  CliResult r = RunAgainst(daemon, {"secret", "inspect", "nosuch"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "[]\n");
  EXPECT_EQ(r.err, "Error: No such secret: nosuch\n");
}

TEST(SecretInspectTest, MixedKnownAndUnknownPrintsFoundAndFails) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets/pw", {200, std::string(kSecretPw) + "\n"});
  daemon.On("GET", "/secrets/zeta10", {200, std::string(kSecretZeta) + "\n"});
  CliResult r = RunAgainst(daemon, {"secret", "inspect", "pw", "nosuch", "zeta10"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error: No such secret: nosuch\n");
  auto parsed = nlohmann::json::parse(r.out);
  ASSERT_EQ(parsed.size(), 2u);
  EXPECT_EQ(parsed[0]["Spec"]["Name"], "pw");
  EXPECT_EQ(parsed[1]["Spec"]["Name"], "zeta10");
  // Label order is the daemon's, not re-sorted.
  EXPECT_LT(r.out.find("\"b\": \"2\""), r.out.find("\"a\": \"\""));
}

TEST(SecretInspectTest, PrettyBlock) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets/pw", {200, std::string(kSecretPw) + "\n"});
  daemon.On("GET", "/secrets/zeta10", {200, std::string(kSecretZeta) + "\n"});
  CliResult r = RunAgainst(daemon, {"secret", "inspect", "--pretty", "pw", "zeta10"});
  EXPECT_EQ(r.code, 0) << r.err;
  // The oracle's `docker secret inspect --pretty pw`, then a secret with labels.
  EXPECT_EQ(r.out,
            "ID:              ii7hxx1yoe1izupm6vw0qkdxd\n"
            "Name:              pw\n"
            "Driver:            \n"
            "Created at:        2026-11-28 00:27:18.140444032 +0000 utc\n"
            "Updated at:        2026-11-28 00:27:18.140444032 +0000 utc\n"
            "ID:              bbbbbbbbbbbbbbbbbbbbbbbbb\n"
            "Name:              zeta10\n"
            "Labels:\n"
            " - a\n"
            " - b=2\n"
            "Driver:            \n"
            "Created at:        2026-11-27 22:27:18 +0000 utc\n"
            "Updated at:        2026-11-28 00:27:13.5 +0000 utc\n");
}

TEST(SecretInspectTest, RequiresAnArgument) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"secret", "inspect"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("\"capsule secret inspect\" requires at least 1 argument.\n", 0), 0u)
      << r.err;
}

TEST(SecretRemoveTest, RemovesEachAndReportsFailuresAtTheEnd) {
  FakeDaemon daemon;
  daemon.On("DELETE", "/secrets/zeta9", {204, ""});
  daemon.On("DELETE", "/secrets/inuse",
            {400,
             "{\"message\":\"rpc error: code = InvalidArgument desc = secret 'inuse' is in use by "
             "the following service: t\"}\n"});
  daemon.On("DELETE", "/secrets/zeta10", {204, ""});
  daemon.On("DELETE", "/secrets/nosuch", {404, "{\"message\":\"secret nosuch not found\"}\n"});
  CliResult r = RunAgainst(daemon, {"secret", "rm", "zeta9", "nosuch", "inuse", "zeta10"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "zeta9\nzeta10\n");
  EXPECT_EQ(r.err,
            "Error: No such secret: nosuch\n"
            "Error response from daemon: rpc error: code = InvalidArgument desc = secret 'inuse' "
            "is in use by the following service: t\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].method, "DELETE");
  EXPECT_EQ(reqs[0].target, "/v1.41/secrets/zeta9");
  EXPECT_EQ(reqs[3].target, "/v1.41/secrets/zeta10");
}

TEST(SecretRemoveTest, AllSucceedExitsZero) {
  FakeDaemon daemon;
  daemon.On("DELETE", "/secrets/a", {204, ""});
  CliResult r = RunAgainst(daemon, {"secret", "remove", "a"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "a\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliTest, UnknownFlagIsExit125) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"secret", "ls", "--bogus"});
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("See 'capsule secret ls --help'."), std::string::npos) << r.err;
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(CliTest, CommandWithoutArgumentsRejectsThemLikeDocker) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"secret", "ls", "extra"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "\"capsule secret ls\" accepts no arguments.\nSee 'capsule secret ls --help'.\n\n"
            "Usage:  capsule secret ls [OPTIONS]\n\nList secrets\n");
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(CliTest, GroupWithoutCommandPrintsHelp) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"secret"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("create"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("inspect"), std::string::npos) << r.out;
}

TEST(CliTest, DaemonDownMessage) {
  std::string url;
  {
    FakeDaemon gone;
    url = gone.url();
  }
  std::ostringstream out, err;
  std::istringstream in;
  int code = RunCli({"-H", url, "secret", "ls"}, CliIo{out, err, in}, RealClock(),
                    [](const std::string&) { return std::nullopt; });
  EXPECT_EQ(code, 1);
  EXPECT_EQ(err.str(),
            "Cannot connect to the Capsule daemon at " + url + ". Is capsuled running?\n");
}

}  // namespace
}  // namespace capsule::cli
