// `capsule swarm rotate-data-key` and the data-key lines of `capsule info`, against the fake
// daemon.
#include <gtest/gtest.h>

#include "cli/fake_daemon_test_util.h"
#include "testing/fake_clock.h"

namespace capsule::cli {
namespace {

using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;
using testing::RunWithClock;

constexpr char kStarted[] =
    R"({"CurrentKeyID":2,"KeyIDs":[1,2],"Rotation":{"Target":2,"Retiring":[1],"Phase":"starting","Done":0,"Resealed":0,"Total":0},"LastRotation":null})";

std::string Resealing(int done, int total) {
  return R"({"CurrentKeyID":2,"KeyIDs":[1,2],"Rotation":{"Target":2,"Retiring":[1],"Phase":"resealing","Done":)" +
         std::to_string(done) + R"(,"Resealed":)" + std::to_string(done) + R"(,"Total":)" +
         std::to_string(total) + R"(},"LastRotation":null})";
}

constexpr char kDone[] =
    R"({"CurrentKeyID":2,"KeyIDs":[2],"Rotation":null,"LastRotation":{"Target":2,"Retiring":[1],"Phase":"done","Done":40,"Resealed":40,"Total":40}})";

TEST(RotateDataKeyTest, WaitsAndPrintsProgressUntilDone) {
  FakeDaemon daemon;
  daemon.On("POST", "/capsule/swarm/rotate-data-key", {200, kStarted});
  daemon.OnSequence("GET", "/capsule/swarm/data-key",
                    {{200, kStarted},
                     {200, Resealing(16, 40)},
                     {200, Resealing(16, 40)},
                     {200, Resealing(40, 40)},
                     {200, kDone}});
  capsule::testing::FakeClock clock;
  CliResult r = RunWithClock(daemon, {"swarm", "rotate-data-key"}, clock);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Data key 2 is now current; re-sealing every stored value under it (retiring key "
            "1).\n"
            "Waiting for the leader to start the re-seal\n"
            "Re-sealing: 16/40 values\n"
            "Re-sealing: 40/40 values\n"
            "Data key rotation done: key 2 is current, key 1 destroyed (40 values re-sealed).\n");
}

TEST(RotateDataKeyTest, DetachReturnsOnceTheKeyIsCurrent) {
  FakeDaemon daemon;
  daemon.On("POST", "/capsule/swarm/rotate-data-key", {200, kStarted});
  CliResult r = RunAgainst(daemon, {"swarm", "rotate-data-key", "--detach"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Data key 2 is now current; re-sealing every stored value under it (retiring key "
            "1).\nRun 'capsule info' to follow the re-seal.\n");
  for (const auto& req : daemon.requests()) EXPECT_NE(req.method, "GET") << req.target;
}

TEST(RotateDataKeyTest, ASecondRotationIsRefusedWithTheDaemonsMessage) {
  FakeDaemon daemon;
  daemon.On(
      "POST", "/capsule/swarm/rotate-data-key",
      {409,
       R"js({"message":"a data key rotation is already in progress (data key 2, resealing 3/9)"})js"});
  CliResult r = RunAgainst(daemon, {"swarm", "rotate-data-key"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("a data key rotation is already in progress"), std::string::npos) << r.err;
}

TEST(RotateDataKeyTest, TakesNoArguments) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"swarm", "rotate-data-key", "extra"});
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(daemon.requests().empty());
}

constexpr char kActiveManagerInfo[] =
    R"({"ServerVersion":"0.1.0","Swarm":{"NodeID":"n1","NodeAddr":"127.0.0.1","LocalNodeState":"active","ControlAvailable":true,"Nodes":1,"Managers":1,"Cluster":{"ID":"c1"}}})";

TEST(InfoDataKeyTest, ShowsTheCurrentKeyAndNoRotation) {
  FakeDaemon daemon;
  daemon.On("GET", "/info", {200, kActiveManagerInfo});
  daemon.On("GET", "/capsule/swarm/data-key", {200, kDone});
  CliResult r = RunAgainst(daemon, {"info"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("  Nodes: 1\n  Data Key: 2\n  Data Key Rotation: none\n"), std::string::npos)
      << r.out;
}

TEST(InfoDataKeyTest, ShowsARotationInProgress) {
  FakeDaemon daemon;
  daemon.On("GET", "/info", {200, kActiveManagerInfo});
  daemon.On("GET", "/capsule/swarm/data-key", {200, Resealing(16, 40)});
  CliResult r = RunAgainst(daemon, {"info"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("  Data Key: 2\n  Data Key Rotation: resealing 16/40 values (key 1 → 2)\n"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace capsule::cli
