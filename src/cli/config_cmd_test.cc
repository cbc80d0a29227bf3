// `capsule config …` against the fake daemon: the secret commands' code on /configs, with
// the config's own list columns and --pretty block (Data shown, no Driver).
#include <gtest/gtest.h>

#include "cli/app.h"
#include "cli/base64.h"
#include "cli/fake_daemon_test_util.h"

namespace capsule::cli {
namespace {

using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;

constexpr char kConfig[] =
    R"({"ID":"ktnbjxoalbkvbvedmg1urrz8h","Version":{"Index":11},"CreatedAt":"2026-11-28T00:27:18.140444032Z","UpdatedAt":"2026-11-28T00:27:18.140444032Z","Spec":{"Name":"app.conf","Labels":{"team":"a"},"Data":"cG9ydD04MAo="}})";

TEST(ConfigCmdTest, CreatePostsToConfigsAndPrintsId) {
  FakeDaemon daemon;
  daemon.On("POST", "/configs/create", {201, "{\"ID\":\"ktnbjxoalbkvbvedmg1urrz8h\"}\n"});
  CliResult r =
      RunAgainst(daemon, {"config", "create", "-l", "team=a", "app.conf", "-"}, "port=80\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "ktnbjxoalbkvbvedmg1urrz8h\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1.41/configs/create");
  EXPECT_EQ(reqs[0].body,
            "{\"Name\":\"app.conf\",\"Labels\":{\"team\":\"a\"},\"Data\":\"cG9ydD04MAo=\"}\n");
}

TEST(ConfigCmdTest, CreateHasNoDriverFlag) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"config", "create", "-d", "vault", "x", "-"}, "x");
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(ConfigCmdTest, ListHasNoDriverColumn) {
  FakeDaemon daemon;
  daemon.On("GET", "/configs", {200, std::string("[") + kConfig + "]"});
  CliResult r = RunAgainst(daemon, {"config", "ls"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')).find("DRIVER"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ktnbjxoalbkvbvedmg1urrz8h   app.conf"), std::string::npos) << r.out;
}

TEST(ConfigCmdTest, InspectPrettyShowsData) {
  FakeDaemon daemon;
  daemon.On("GET", "/configs/app.conf", {200, kConfig});
  CliResult r = RunAgainst(daemon, {"config", "inspect", "--pretty", "app.conf"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID:              ktnbjxoalbkvbvedmg1urrz8h\n"
            "Name:              app.conf\n"
            "Labels:\n"
            " - team=a\n"
            "Created at:        2026-11-28 00:27:18.140444032 +0000 utc\n"
            "Updated at:        2026-11-28 00:27:18.140444032 +0000 utc\n"
            "Data:\n"
            "port=80\n\n");
}

TEST(ConfigCmdTest, RemoveMissingSaysNoSuchConfig) {
  FakeDaemon daemon;
  daemon.On("DELETE", "/configs/nope", {404, "{\"message\":\"config nope not found\"}\n"});
  CliResult r = RunAgainst(daemon, {"config", "rm", "nope"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error: No such config: nope\n");
}

TEST(Base64Test, DecodeIsTheReverseOfEncode) {
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\x00\xff\x10", 3)}) {
    std::optional<SecretBytes> back = Base64Decode(Base64Encode(
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size())));
    ASSERT_TRUE(back.has_value()) << s;
    EXPECT_EQ(back->view(), s);
  }
  EXPECT_FALSE(Base64Decode("abc").has_value());
  EXPECT_FALSE(Base64Decode("a=bc").has_value());
}

}  // namespace
}  // namespace capsule::cli
