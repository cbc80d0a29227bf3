// `capsule node promote|demote` against the fake daemon: the docker CLI's requests and texts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/fake_daemon_test_util.h"

namespace capsule::cli {
namespace {

using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;

constexpr char kWorker[] =
    R"({"ID":"w1full","Version":{"Index":12},"Spec":{"Labels":{"a":"b"},"Role":"worker","Availability":"active"}})";
constexpr char kManager[] =
    R"({"ID":"m1full","Version":{"Index":9},"Spec":{"Labels":{},"Role":"manager","Availability":"drain"}})";

TEST(NodePromoteTest, PostsTheSpecWithRoleManagerAtItsVersion) {
  FakeDaemon daemon;
  daemon.On("GET", "/nodes/w1", {200, kWorker});
  daemon.On("POST", "/nodes/w1full/update", {200, ""});
  CliResult r = RunAgainst(daemon, {"node", "promote", "w1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Node w1 promoted to a manager in the swarm.\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].target, "/v1.41/nodes/w1full/update?version=12");
  EXPECT_EQ(
      nlohmann::json::parse(reqs[1].body),
      nlohmann::json::parse(R"({"Labels":{"a":"b"},"Role":"manager","Availability":"active"})"));
}

TEST(NodePromoteTest, AManagerAlreadyIsSkipped) {
  FakeDaemon daemon;
  daemon.On("GET", "/nodes/m1", {200, kManager});
  CliResult r = RunAgainst(daemon, {"node", "promote", "m1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Node m1full is already a manager.\n");
  EXPECT_EQ(daemon.requests().size(), 1u);
}

TEST(NodeDemoteTest, PrintsDockersLineAndTheDaemonsRefusal) {
  FakeDaemon daemon;
  daemon.On("GET", "/nodes/m1", {200, kManager});
  daemon.On("POST", "/nodes/m1full/update", {200, ""});
  daemon.On("GET", "/nodes/w1", {200, kWorker});
  CliResult r = RunAgainst(daemon, {"node", "demote", "m1", "w1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Manager m1 demoted in the swarm.\nNode w1full is already a worker.\n");

  FakeDaemon last;
  last.On("GET", "/nodes/m1", {200, kManager});
  last.On("POST", "/nodes/m1full/update",
          {400,
           "{\"message\":\"rpc error: code = FailedPrecondition desc = attempting to demote the "
           "last manager of the swarm\"}\n"});
  r = RunAgainst(last, {"node", "demote", "m1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "Error response from daemon: rpc error: code = FailedPrecondition desc = attempting "
            "to demote the last manager of the swarm\n");
}

TEST(NodeDemoteTest, NeedsANode) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"node", "demote"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("\"capsule node demote\" requires at least 1 argument."), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace capsule::cli
