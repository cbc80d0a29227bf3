// `capsule service …` end to end against the fake daemon. Expected request bodies and outputs
// are what the docker 20.10 CLI sent and printed for the same commands (recorded against a
// stub daemon answering the same canned JSON).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "cli/fake_daemon_test_util.h"
#include "cli/resource_flags.h"

namespace capsule::cli {
namespace {

using ::capsule::testing::FakeClock;
using testing::CliResult;
using testing::FakeDaemon;
using testing::RunAgainst;
using testing::RunWithClock;

TimePoint At(const std::string& rfc3339) {
  TimePoint t;
  EXPECT_TRUE(ParseRfc3339Nano(rfc3339, &t)) << rfc3339;
  return t;
}

constexpr char kSecrets[] =
    R"([{"ID":"ii7hxx1yoe1izupm6vw0qkdxd","Spec":{"Name":"pw","Labels":{}}},)"
    R"({"ID":"jag5shk58vngclfdckj5ibi3l","Spec":{"Name":"pwfile"}},)"
    R"({"ID":"p2p2p2p2p2p2p2p2p2p2p2p2p","Spec":{"Name":"pw2"}}])";

constexpr char kService[] =
    R"({"ID":"tomo5fhyqk4uexqfgl48kgxn1","Version":{"Index":37},)"
    R"("CreatedAt":"2026-11-28T00:27:18.642486527Z","UpdatedAt":"2026-11-28T00:27:18.642486527Z",)"
    R"("Spec":{"Name":"t","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"capsule/busybox:1",)"
    R"("Args":["sleep","1d"],"Init":false,"DNSConfig":{},"Secrets":[{"File":{"Name":"password",)"
    R"("UID":"2000","GID":"3000","Mode":256},"SecretID":"ii7hxx1yoe1izupm6vw0qkdxd","SecretName":"pw"}],)"
    R"("Isolation":"default"},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},)"
    R"("ForceUpdate":0,"Runtime":"container"},"Mode":{"Replicated":{"Replicas":1}},)"
    R"("EndpointSpec":{"Mode":"vip"}},"Endpoint":{"Spec":{}}})";

constexpr char kNodes[] =
    R"([{"ID":"yc0uftq0gefwrul771k45rkwh","Spec":{"Role":"manager","Availability":"active"},)"
    R"("Description":{"Hostname":"vm"},"Status":{"State":"ready"}}])";

std::string Task(const std::string& id, const std::string& desired, const std::string& state,
                 const std::string& created, const std::string& err = "") {
  return absl::StrCat(
      R"({"ID":")", id, R"(","CreatedAt":")", created,
      R"(","Spec":{"ContainerSpec":{"Image":"capsule/busybox:1@sha256:abc"}},)",
      R"("ServiceID":"tomo5fhyqk4uexqfgl48kgxn1","Slot":1,"NodeID":"yc0uftq0gefwrul771k45rkwh",)",
      R"("Status":{"Timestamp":")", created, R"(","State":")", state, R"(","Err":")", err,
      R"("},"DesiredState":")", desired, R"("})");
}

TEST(ServiceCreateTest, SendsDockersSpecWithResolvedSecretsAndPrintsId) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets", {200, kSecrets});
  daemon.On("POST", "/services/create", {201, R"({"ID":"tomo5fhyqk4uexqfgl48kgxn1"})"});
  CliResult r =
      RunAgainst(daemon, {"service", "create", "-d", "--name", "t", "--secret",
                          "source=pw,target=password,uid=2000,gid=3000,mode=0400", "--secret",
                          "pwfile", "capsule/busybox:1", "sh", "-c", "echo hi"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tomo5fhyqk4uexqfgl48kgxn1\n");
  EXPECT_EQ(r.err, "");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(
      reqs[0].target,
      "/v1.41/secrets?filters=%7B%22name%22%3A%7B%22pw%22%3Atrue%2C%22pwfile%22%3Atrue%7D%7D");
  EXPECT_EQ(reqs[1].target, "/v1.41/services/create");
  EXPECT_EQ(
      reqs[1].body,
      R"({"Name":"t","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"capsule/busybox:1",)"
      R"("Args":["sh","-c","echo hi"],"Init":false,"DNSConfig":{},"Secrets":[{"File":{"Name":)"
      R"("password","UID":"2000","GID":"3000","Mode":256},"SecretID":"ii7hxx1yoe1izupm6vw0qkdxd",)"
      R"("SecretName":"pw"},{"File":{"Name":"pwfile","UID":"0","GID":"0","Mode":292},"SecretID":)"
      R"("jag5shk58vngclfdckj5ibi3l","SecretName":"pwfile"}]},"Resources":{"Limits":{},)"
      R"("Reservations":{}},"Placement":{},"ForceUpdate":0},"Mode":{"Replicated":{}},)"
      R"("EndpointSpec":{"Mode":"vip"}})");
}

TEST(ServiceCreateTest, EveryFlagAsDockerSendsIt) {
  FakeDaemon daemon;
  daemon.On("POST", "/services/create", {201, R"({"ID":"x"})"});
  CliResult r = RunAgainst(daemon, {"service",
                                    "create",
                                    "-d",
                                    "--name",
                                    "t",
                                    "--replicas",
                                    "3",
                                    "-e",
                                    "A=1",
                                    "--env",
                                    "B=2",
                                    "-e",
                                    "A=3",
                                    "--workdir",
                                    "/w",
                                    "--user",
                                    "1000:1000",
                                    "--label",
                                    "l1=v1",
                                    "--label",
                                    "l2",
                                    "--container-label",
                                    "c1=x",
                                    "--constraint",
                                    "node.role==manager",
                                    "--constraint",
                                    "node.labels.zone == a",
                                    "--restart-condition",
                                    "on-failure",
                                    "--restart-delay",
                                    "2s",
                                    "--restart-max-attempts",
                                    "3",
                                    "--update-parallelism",
                                    "2",
                                    "--update-delay",
                                    "1s",
                                    "--update-order",
                                    "start-first",
                                    "capsule/busybox:1",
                                    "sleep",
                                    "100"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 1u);  // no secrets: no secret lookup
  EXPECT_EQ(
      reqs[0].body,
      R"({"Name":"t","Labels":{"l1":"v1","l2":""},"TaskTemplate":{"ContainerSpec":{"Image":)"
      R"("capsule/busybox:1","Labels":{"c1":"x"},"Args":["sleep","100"],"Env":["B=2","A=3"],)"
      R"("Dir":"/w","User":"1000:1000","Init":false,"DNSConfig":{}},"Resources":{"Limits":{},)"
      R"("Reservations":{}},"RestartPolicy":{"Condition":"on-failure","Delay":2000000000,)"
      R"("MaxAttempts":3},"Placement":{"Constraints":["node.role==manager","node.labels.zone == a"]},)"
      R"("ForceUpdate":0},"Mode":{"Replicated":{"Replicas":3}},"UpdateConfig":{"Parallelism":2,)"
      R"("Delay":1000000000,"FailureAction":"pause","Monitor":5000000000,"MaxFailureRatio":0,)"
      R"("Order":"start-first"},"EndpointSpec":{"Mode":"vip"}})");
}

TEST(ServiceCreateTest, GlobalModeAndDefaultsFilledForOneChangedFlag) {
  FakeDaemon daemon;
  daemon.On("POST", "/services/create", {201, R"({"ID":"x"})"});
  CliResult r = RunAgainst(daemon, {"service", "create", "-d", "--mode", "global",
                                    "--restart-max-attempts", "3", "capsule/busybox:1"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(daemon.requests().size(), 1u);
  EXPECT_EQ(
      daemon.requests()[0].body,
      R"({"Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"capsule/busybox:1",)"
      R"("Init":false,"DNSConfig":{}},"Resources":{"Limits":{},"Reservations":{}},)"
      R"("RestartPolicy":{"Condition":"any","Delay":5000000000,"MaxAttempts":3},)"
      R"("Placement":{},"ForceUpdate":0},"Mode":{"Global":{}},"EndpointSpec":{"Mode":"vip"}})");
}

TEST(ServiceCreateTest, SecretErrorsLikeDocker) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets", {200, kSecrets});
  CliResult r = RunAgainst(daemon, {"service", "create", "-d", "--secret", "nosuch", "img"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "secret not found: nosuch\n");
  r = RunAgainst(daemon, {"service", "create", "-d", "--secret", "source=pw,target=x", "--secret",
                          "source=pwfile,target=x", "img"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "duplicate secret target for pwfile not allowed\n");
  r = RunAgainst(daemon, {"service", "create", "-d", "--secret", "source=pw,bogus=1", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_EQ(r.err,
            "invalid argument \"source=pw,bogus=1\" for \"--secret\" flag: invalid field in secret "
            "request: bogus\nSee 'capsule service create --help'.\n");
  r = RunAgainst(daemon, {"service", "create", "-d", "--secret", "target=x", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("source is required"), std::string::npos) << r.err;
  for (const auto& req : daemon.requests()) EXPECT_NE(req.path, "/services/create");
}

TEST(ServiceCreateTest, FlagAndModeErrors) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"service", "create", "--replicas", "x", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_EQ(r.err,
            "invalid argument \"x\" for \"--replicas\" flag: strconv.ParseUint: parsing \"x\": "
            "invalid syntax\nSee 'capsule service create --help'.\n");
  r = RunAgainst(daemon, {"service", "create", "--update-delay", "5", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("time: missing unit in duration \"5\""), std::string::npos) << r.err;
  r = RunAgainst(daemon, {"service", "create", "--mode", "global", "--replicas", "2", "img"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "replicas can only be used with replicated or replicated-job mode\n");
  r = RunAgainst(daemon, {"service", "create", "--mode", "foo", "img"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Unknown mode: foo, only replicated and global supported\n");
  r = RunAgainst(daemon, {"service", "create"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "\"capsule service create\" requires at least 1 argument.\n"
            "See 'capsule service create --help'.\n\n"
            "Usage:  capsule service create [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
            "Create a new service\n");
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(ServiceCreateTest, FlagsAfterTheImageBelongToTheCommand) {
  FakeDaemon daemon;
  daemon.On("POST", "/services/create", {201, R"({"ID":"x"})"});
  CliResult r = RunAgainst(daemon, {"service", "create", "-d", "img", "sh", "-c", "ls -d /", "-d"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(daemon.requests().size(), 1u);
  auto body = nlohmann::json::parse(daemon.requests()[0].body);
  EXPECT_EQ(body["TaskTemplate"]["ContainerSpec"]["Args"],
            nlohmann::json({"sh", "-c", "ls -d /", "-d"}));
}

TEST(ServiceCreateTest, WaitsForTheTaskAndReportsConvergenceLikeDocker) {
  FakeDaemon daemon;
  daemon.On("POST", "/services/create", {201, R"({"ID":"tomo5fhyqk4uexqfgl48kgxn1"})"});
  daemon.On("GET", "/services/tomo5fhyqk4uexqfgl48kgxn1", {200, kService});
  const std::string created = "2026-11-28T00:27:18Z";
  daemon.OnSequence("GET", "/tasks",
                    {{200, "[]"},
                     {200, "[" + Task("a1", "running", "preparing", created) + "]"},
                     {200, "[" + Task("a1", "running", "running", created) + "]"}});
  daemon.On("GET", "/nodes", {200, kNodes});
  FakeClock clock(At("2026-11-28T01:00:00Z"));
  CliResult r = RunWithClock(daemon, {"service", "create", "--name", "t", "img"}, clock);
  EXPECT_EQ(r.code, 0) << r.err;
  std::string expected =
      "tomo5fhyqk4uexqfgl48kgxn1\n"
      "overall progress: 0 out of 1 tasks\n"
      "1/1:  \n"
      "overall progress: 0 out of 1 tasks\n"
      "overall progress: 0 out of 1 tasks\n"
      "overall progress: 1 out of 1 tasks\n";
  for (int s = 5; s >= 1; --s) {
    for (int i = 0; i < 5; ++i) {
      absl::StrAppend(&expected, "verify: Waiting ", s,
                      " seconds to verify that tasks are stable...\n");
    }
  }
  expected += "verify: Service converged\n";
  EXPECT_EQ(r.out, expected);
  auto reqs = daemon.requests();
  ASSERT_GE(reqs.size(), 4u);
  EXPECT_EQ(reqs[1].target, "/v1.41/services/tomo5fhyqk4uexqfgl48kgxn1?insertDefaults=false");
  EXPECT_EQ(reqs[2].query["filters"],
            R"({"_up-to-date":{"true":true},"service":{"tomo5fhyqk4uexqfgl48kgxn1":true}})");
  EXPECT_EQ(reqs[3].path, "/nodes");
}

TEST(ServiceCreateTest, TaskErrorsAndQuietMode) {
  FakeDaemon daemon;
  daemon.On("POST", "/services/create", {201, R"({"ID":"tomo5fhyqk4uexqfgl48kgxn1"})"});
  daemon.On("GET", "/services/tomo5fhyqk4uexqfgl48kgxn1", {200, kService});
  const std::string created = "2026-11-28T00:27:18Z";
  daemon.OnSequence("GET", "/tasks",
                    {{200, "[" + Task("a1", "running", "rejected", created, "No such image: img") +
                               "," + Task("a2", "shutdown", "failed", created) + "]"},
                     {200, "[" + Task("a3", "running", "running", created) + "]"}});
  daemon.On("GET", "/nodes", {200, kNodes});
  FakeClock clock(At("2026-11-28T01:00:00Z"));
  CliResult r = RunWithClock(daemon, {"service", "create", "img"}, clock);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1/1: No such image: img\n"), std::string::npos) << r.out;
  r = RunWithClock(daemon, {"service", "create", "-q", "img"}, clock);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tomo5fhyqk4uexqfgl48kgxn1\n");
}

TEST(ServiceUpdateTest, SecretRmAndAddReplaceTheReference) {
  FakeDaemon daemon;
  daemon.On("GET", "/services/t", {200, kService});
  daemon.On("GET", "/secrets", {200, kSecrets});
  daemon.On("POST", "/services/tomo5fhyqk4uexqfgl48kgxn1/update", {200, R"({"Warnings":null})"});
  CliResult r = RunAgainst(daemon, {"service", "update", "-d", "--secret-rm", "pw", "--secret-add",
                                    "source=pw2,target=password", "t"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "t\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].target, "/v1.41/services/t?insertDefaults=false");
  EXPECT_EQ(reqs[1].query["filters"], R"({"name":{"pw2":true}})");
  EXPECT_EQ(reqs[2].target,
            "/v1.41/services/tomo5fhyqk4uexqfgl48kgxn1/update?registryAuthFrom=spec&version=37");
  EXPECT_EQ(
      reqs[2].body,
      R"({"Name":"t","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"capsule/busybox:1",)"
      R"("Args":["sleep","1d"],"Init":false,"DNSConfig":{},"Secrets":[{"File":{"Name":"password",)"
      R"("UID":"0","GID":"0","Mode":292},"SecretID":"p2p2p2p2p2p2p2p2p2p2p2p2p","SecretName":"pw2"}],)"
      R"("Isolation":"default"},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},)"
      R"("ForceUpdate":0,"Runtime":"container"},"Mode":{"Replicated":{"Replicas":1}},)"
      R"("EndpointSpec":{"Mode":"vip"}})");
}

TEST(ServiceUpdateTest, ImageEnvReplicasForceAndOrder) {
  FakeDaemon daemon;
  daemon.On("GET", "/services/t", {200, kService});
  daemon.On("POST", "/services/tomo5fhyqk4uexqfgl48kgxn1/update",
            {200, R"({"Warnings":["careful"]})"});
  CliResult r = RunAgainst(daemon, {"service", "update", "-d", "--image", "capsule/busybox:2",
                                    "--env-add", "X=1", "--env-rm", "Y", "--replicas", "2",
                                    "--force", "--update-order", "start-first", "t"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "t\n");
  EXPECT_EQ(r.err, "careful\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(
      reqs[1].body,
      R"({"Name":"t","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"capsule/busybox:2",)"
      R"("Args":["sleep","1d"],"Env":["X=1"],"Init":false,"DNSConfig":{},"Secrets":[{"File":)"
      R"({"Name":"password","UID":"2000","GID":"3000","Mode":256},"SecretID":)"
      R"("ii7hxx1yoe1izupm6vw0qkdxd","SecretName":"pw"}],"Isolation":"default"},"Resources":)"
      R"({"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":1,"Runtime":"container"},)"
      R"("Mode":{"Replicated":{"Replicas":2}},"UpdateConfig":{"Parallelism":1,"FailureAction":)"
      R"("pause","Monitor":5000000000,"MaxFailureRatio":0,"Order":"start-first"},"EndpointSpec":)"
      R"({"Mode":"vip"}})");
}

TEST(ServiceCreateTest, ResourceFlagsAsDockerSendsThem) {
  FakeDaemon daemon;
  daemon.On("POST", "/services/create", {201, R"({"ID":"x"})"});
  CliResult r = RunAgainst(daemon, {"service", "create", "-d", "--limit-memory", "64m",
                                    "--limit-cpu", "1.5", "--limit-pids", "100", "--reserve-memory",
                                    "1GiB", "--reserve-cpu", "1/4", "capsule/busybox:1"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(daemon.requests().size(), 1u);
  EXPECT_EQ(daemon.requests()[0].body,
            R"({"Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"capsule/busybox:1",)"
            R"("Init":false,"DNSConfig":{}},"Resources":{"Limits":{"NanoCPUs":1500000000,)"
            R"("MemoryBytes":67108864,"Pids":100},"Reservations":{"NanoCPUs":250000000,)"
            R"("MemoryBytes":1073741824}},"Placement":{},"ForceUpdate":0},"Mode":{"Replicated":)"
            R"({}},"EndpointSpec":{"Mode":"vip"}})");
}

TEST(ServiceCreateTest, ResourceFlagErrorsAsDocker) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"service", "create", "--limit-memory", "lots", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_EQ(r.err,
            "invalid argument \"lots\" for \"--limit-memory\" flag: invalid size: 'lots'\n"
            "See 'capsule service create --help'.\n");
  r = RunAgainst(daemon, {"service", "create", "--limit-cpu", "x", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("flag: failed to parse x as a rational number"), std::string::npos) << r.err;
  r = RunAgainst(daemon, {"service", "create", "--reserve-cpu", "0.0000000001", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("flag: value is too precise"), std::string::npos) << r.err;
  r = RunAgainst(daemon, {"service", "create", "--limit-pids", "many", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("strconv.ParseInt: parsing \"many\": invalid syntax"), std::string::npos)
      << r.err;
  EXPECT_TRUE(daemon.requests().empty());
}

TEST(ServiceUpdateTest, ResourceFlagsSetAndClearFields) {
  FakeDaemon daemon;
  daemon.On("GET", "/services/t", {200, kService});
  daemon.On("POST", "/services/tomo5fhyqk4uexqfgl48kgxn1/update", {200, "{}"});
  CliResult r = RunAgainst(daemon, {"service", "update", "-d", "--limit-memory", "32MiB",
                                    "--limit-pids", "0", "--reserve-cpu", "2", "t"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[1].body.find(R"("Resources":{"Limits":{"MemoryBytes":33554432},)"
                              R"("Reservations":{"NanoCPUs":2000000000}})"),
            std::string::npos)
      << reqs[1].body;
}

TEST(ResourceFlagsTest, RamInBytesAsGoUnits) {
  EXPECT_EQ(*ParseRamInBytes("4194304"), 4194304);
  EXPECT_EQ(*ParseRamInBytes("4m"), 4 << 20);
  EXPECT_EQ(*ParseRamInBytes("4 MiB"), 4 << 20);
  EXPECT_EQ(*ParseRamInBytes("1.5g"), 3LL << 29);
  EXPECT_EQ(*ParseRamInBytes("2kb"), 2048);
  EXPECT_EQ(*ParseRamInBytes("1T"), 1LL << 40);
  EXPECT_EQ(ParseRamInBytes("-1m").status().message(), "invalid size: '-1m'");
  EXPECT_EQ(ParseRamInBytes("1x").status().message(), "invalid size: '1x'");
  EXPECT_EQ(ParseRamInBytes("").status().message(), "invalid size: ''");
}

TEST(ResourceFlagsTest, NanoCpusAsBigRat) {
  EXPECT_EQ(*ParseNanoCpus("1"), 1000000000);
  EXPECT_EQ(*ParseNanoCpus("0.5"), 500000000);
  EXPECT_EQ(*ParseNanoCpus(".25"), 250000000);
  EXPECT_EQ(*ParseNanoCpus("3/2"), 1500000000);
  EXPECT_EQ(*ParseNanoCpus("1e-3"), 1000000);
  EXPECT_EQ(*ParseNanoCpus("-2"), -2000000000);
  EXPECT_EQ(*ParseNanoCpus("0.000000001"), 1);
  EXPECT_EQ(*ParseNanoCpus("0.5000000000"), 500000000);
  EXPECT_EQ(ParseNanoCpus("1/3").status().message(), "value is too precise");
  EXPECT_EQ(ParseNanoCpus("1e-10").status().message(), "value is too precise");
  EXPECT_EQ(ParseNanoCpus("abc").status().message(), "failed to parse abc as a rational number");
  EXPECT_EQ(ParseNanoCpus("1/0").status().message(), "failed to parse 1/0 as a rational number");
}

TEST(ResourceFlagsTest, Int64AsStrconv) {
  EXPECT_EQ(*ParseGoInt64("100"), 100);
  EXPECT_EQ(*ParseGoInt64("-1"), -1);
  EXPECT_EQ(*ParseGoInt64("0x10"), 16);
  EXPECT_EQ(ParseGoInt64("9223372036854775808").status().message(),
            "strconv.ParseInt: parsing \"9223372036854775808\": value out of range");
}

TEST(ServiceInspectTest, PrettyResourcesAsDocker) {
  FakeDaemon daemon;
  std::string svc = kService;
  const std::string empty = R"("Resources":{"Limits":{},"Reservations":{}})";
  ASSERT_NE(svc.find(empty), std::string::npos);
  svc.replace(svc.find(empty), empty.size(),
              R"("Resources":{"Limits":{"NanoCPUs":1500000000,"MemoryBytes":67108864,"Pids":9},)"
              R"("Reservations":{"MemoryBytes":1610612736}})");
  daemon.On("GET", "/services/t", {200, svc});
  CliResult r = RunAgainst(daemon, {"service", "inspect", "--pretty", "t"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\nResources:\n Reservations:\n  Memory:\t1.5GiB\n Limits:\n  CPU:\t\t1.5\n"
                       "  Memory:\t64MiB\n  PIDs:\t\t9\nEndpoint Mode:"),
            std::string::npos)
      << r.out;
}

TEST(ServiceUpdateTest, MissingServiceAndDaemonErrors) {
  FakeDaemon daemon;
  daemon.On("GET", "/services/nosuch", {404, R"({"message":"service nosuch not found"})"});
  CliResult r = RunAgainst(daemon, {"service", "update", "-d", "--force", "nosuch"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error: No such service: nosuch\n");
  daemon.On("GET", "/services/t", {200, kService});
  daemon.On("POST", "/services/tomo5fhyqk4uexqfgl48kgxn1/update",
            {500, R"({"message":"rpc error: code = Unknown desc = update out of sequence"})"});
  r = RunAgainst(daemon, {"service", "update", "-d", "--force", "t"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(
      r.err,
      "Error response from daemon: rpc error: code = Unknown desc = update out of sequence\n");
}

TEST(ServiceScaleTest, SetsReplicasAndReportsEachLikeDocker) {
  FakeDaemon daemon;
  daemon.On("GET", "/services/t", {200, kService});
  daemon.On("GET", "/services/u", {404, R"({"message":"service u not found"})"});
  daemon.On("POST", "/services/tomo5fhyqk4uexqfgl48kgxn1/update", {200, "{}"});
  CliResult r = RunAgainst(daemon, {"service", "scale", "-d", "t=3", "u=2", "t=x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "t scaled to 3\n");
  EXPECT_EQ(r.err,
            "u: Error: No such service: u\n"
            "t: invalid replicas value x: strconv.ParseUint: parsing \"x\": invalid syntax\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[1].target, "/v1.41/services/tomo5fhyqk4uexqfgl48kgxn1/update?version=37");
  EXPECT_EQ(nlohmann::json::parse(reqs[1].body)["Mode"]["Replicated"]["Replicas"], 3);

  r = RunAgainst(daemon, {"service", "scale", "t"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "Invalid scale specifier 't'.\nSee 'capsule service scale --help'.\n\n"
            "Usage:  capsule service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]\n\n"
            "Scale one or multiple replicated services\n");
}

TEST(ServiceListTest, TableAsDocker) {
  FakeDaemon daemon;
  nlohmann::ordered_json s = nlohmann::ordered_json::parse(kService);
  s["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "127.0.0.1:5999/anchor/busybox:local";
  s["ServiceStatus"] = {{"RunningTasks", 1}, {"DesiredTasks", 1}};
  nlohmann::ordered_json g = s;
  g["ID"] = "ggggggggggggggggggggggggg";
  g["Spec"]["Name"] = "a10";
  g["Spec"]["Mode"] = {{"Global", nlohmann::ordered_json::object()}};
  g["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] = "busybox:1@sha256:0123";
  g["ServiceStatus"] = {{"RunningTasks", 0}, {"DesiredTasks", 2}};
  daemon.On("GET", "/services", {200, "[" + s.dump() + "," + g.dump() + "]"});
  CliResult r = RunAgainst(daemon, {"service", "ls"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "ID             NAME      MODE         REPLICAS   IMAGE                                 "
      "PORTS\n"
      "gggggggggggg   a10       global       0/2        busybox:1                             \n"
      "tomo5fhyqk4u   t         replicated   1/1        127.0.0.1:5999/anchor/busybox:local   \n");
  EXPECT_EQ(daemon.requests()[0].target, "/v1.41/services?status=true");
  r = RunAgainst(daemon, {"service", "ls", "-q", "--filter", "name=t"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "gggggggggggg\ntomo5fhyqk4u\n");
  EXPECT_EQ(daemon.requests()[1].target,
            "/v1.41/services?filters=%7B%22name%22%3A%7B%22t%22%3Atrue%7D%7D");
}

TEST(ServiceListTest, CountsTasksWhenTheDaemonGivesNoServiceStatus) {
  FakeDaemon daemon;
  daemon.On("GET", "/services", {200, std::string("[") + kService + "]"});
  const std::string created = "2026-11-28T00:27:18Z";
  daemon.On("GET", "/tasks",
            {200, "[" + Task("a1", "running", "running", created) + "," +
                      Task("a0", "shutdown", "shutdown", created) + "]"});
  daemon.On("GET", "/nodes", {200, kNodes});
  CliResult r = RunAgainst(daemon, {"service", "ls", "--format", "{{.Name}} {{.Replicas}}"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "t 1/1\n");
}

TEST(ServicePsTest, TableWithHistoryIndentedLikeDocker) {
  FakeDaemon daemon;
  daemon.On("GET", "/services", {200, std::string("[") + kService + "]"});
  daemon.On(
      "GET", "/tasks",
      {200,
       "[" + Task("aganipxb9wjpabn6c352wb14v", "shutdown", "shutdown", "2026-11-28T00:27:18Z") +
           "," + Task("30dt0io0u8b8b6zofkrtl2rxu", "running", "running", "2026-11-28T00:27:20Z") +
           "," +
           Task("c45wbyhvwnoxnkkttpxmjp78t", "shutdown", "failed", "2026-11-28T00:27:10Z",
                R"(starting container failed: strconv.Atoi: parsing \"abc\": invalid syntax)") +
           "]"});
  daemon.On("GET", "/nodes", {200, kNodes});
  FakeClock clock(At("2026-11-28T00:27:21.5Z"));
  CliResult r = RunAgainst(daemon, {"service", "ps", "t"}, "", &clock);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "ID             NAME      IMAGE               NODE      DESIRED STATE   CURRENT STATE  "
            "          ERROR                              PORTS\n"
            "30dt0io0u8b8   t.1       capsule/busybox:1   vm        Running         Running 1 "
            "second ago                                        \n"
            "aganipxb9wjp    \\_ t.1   capsule/busybox:1   vm        Shutdown        Shutdown 3 "
            "seconds ago                                      \n"
            "c45wbyhvwnox    \\_ t.1   capsule/busybox:1   vm        Shutdown        Failed 11 "
            "seconds ago    \"starting container failed: st\xE2\x80\xA6\"   \n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].query["filters"], R"({"id":{"t":true}})");
  EXPECT_EQ(reqs[1].query["filters"], R"({"name":{"t":true}})");
  EXPECT_EQ(reqs[2].query["filters"], R"({"service":{"tomo5fhyqk4uexqfgl48kgxn1":true}})");

  r = RunAgainst(daemon, {"service", "ps", "-q", "t"}, "", &clock);
  EXPECT_EQ(r.out,
            "30dt0io0u8b8b6zofkrtl2rxu\naganipxb9wjpabn6c352wb14v\nc45wbyhvwnoxnkkttpxmjp78t\n");
  r = RunAgainst(daemon, {"service", "ps", "--no-trunc", "-f", "desired-state=running", "t"}, "",
                 &clock);
  EXPECT_NE(r.out.find("capsule/busybox:1@sha256:abc"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("strconv.Atoi: parsing \"abc\": invalid syntax\""), std::string::npos);
  std::string task_filters;
  for (const auto& req : daemon.requests()) {
    if (req.path == "/tasks") task_filters = req.query.at("filters");
  }
  EXPECT_EQ(task_filters,
            R"({"desired-state":{"running":true},"service":{"tomo5fhyqk4uexqfgl48kgxn1":true}})");
}

TEST(ServicePsTest, UnknownServices) {
  FakeDaemon daemon;
  daemon.On("GET", "/services", {200, "[]"});
  CliResult r = RunAgainst(daemon, {"service", "ps", "nosuch", "other"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "no such service: nosuch\nno such service: other\n");
}

// Capsule's live-refresh policies come from /capsule/services/{id}: shown in both forms when
// the service has some, and the output stays Docker's when it has none.
TEST(ServiceInspectTest, ShowsSecretRefreshPolicies) {
  FakeDaemon daemon;
  nlohmann::ordered_json s = nlohmann::ordered_json::parse(kService);
  s["Spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"].push_back(
      {{"File", {{"Name", "pw"}, {"UID", "0"}, {"GID", "0"}, {"Mode", 292}}},
       {"SecretID", "jag5shk58vngclfdckj5ibi3l"},
       {"SecretName", "pw"}});
  daemon.On("GET", "/services/t", {200, s.dump()});
  nlohmann::ordered_json c = s;
  c["CapsuleSecretRefresh"] = {{"pw", "signal:SIGHUP"}};
  daemon.On("GET", "/capsule/services/tomo5fhyqk4uexqfgl48kgxn1", {200, c.dump()});
  CliResult r = RunAgainst(daemon, {"service", "inspect", "t"});
  EXPECT_EQ(r.code, 0) << r.err;
  nlohmann::json out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out[0]["CapsuleSecretRefresh"], nlohmann::json({{"pw", "signal:SIGHUP"}})) << r.out;
  r = RunAgainst(daemon, {"service", "inspect", "--pretty", "t"});
  EXPECT_NE(r.out.find("\n Target:\tpw\n  Source:\tpw\n  Refresh:\tsignal:SIGHUP\n"),
            std::string::npos)
      << r.out;

  FakeDaemon plain;
  plain.On("GET", "/services/t", {200, s.dump()});
  c["CapsuleSecretRefresh"] = nlohmann::ordered_json::object();
  plain.On("GET", "/capsule/services/tomo5fhyqk4uexqfgl48kgxn1", {200, c.dump()});
  r = RunAgainst(plain, {"service", "inspect", "t"});
  EXPECT_EQ(r.out.find("Capsule"), std::string::npos) << r.out;
  r = RunAgainst(plain, {"service", "inspect", "--pretty", "t"});
  EXPECT_EQ(r.out.find("Refresh"), std::string::npos) << r.out;
}

TEST(ServiceInspectTest, JsonArrayAndMissing) {
  FakeDaemon daemon;
  daemon.On("GET", "/services/t", {200, kService});
  CliResult r = RunAgainst(daemon, {"service", "inspect", "t", "nosuch"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out.rfind("[\n    {\n        \"ID\": \"tomo5fhyqk4uexqfgl48kgxn1\",", 0), 0u)
      << r.out;
  EXPECT_EQ(r.err, "Error: no such service: nosuch\n");
  EXPECT_EQ(daemon.requests()[0].target, "/v1.41/services/t?insertDefaults=true");
  r = RunAgainst(daemon, {"service", "inspect", "nosuch"});
  EXPECT_EQ(r.out, "[]\n");
}

TEST(ServiceInspectTest, PrettyAsDocker) {
  FakeDaemon daemon;
  nlohmann::ordered_json s = nlohmann::ordered_json::parse(kService);
  auto& spec = s["Spec"];
  spec["Labels"] = {{"b", "2"}, {"a", ""}};
  auto& cs = spec["TaskTemplate"]["ContainerSpec"];
  cs["Image"] = "127.0.0.1:5999/anchor/busybox:local";
  cs["Args"] = {"sleep", "100"};
  cs["Env"] = {"A=1", "B=2"};
  cs["Dir"] = "/w";
  cs["User"] = "1000:1000";
  cs.erase("Init");
  cs["Secrets"].push_back(
      {{"File", {{"Name", "pwfile"}, {"UID", "0"}, {"GID", "0"}, {"Mode", 292}}},
       {"SecretID", "jag5shk58vngclfdckj5ibi3l"},
       {"SecretName", "pwfile"}});
  spec["TaskTemplate"]["Placement"] = {
      {"Constraints", {"node.role==manager", "node.labels.zone == a"}}};
  spec["Mode"] = {{"Replicated", {{"Replicas", 3}}}};
  spec["UpdateConfig"] = {{"Parallelism", 2},         {"Delay", 1500000000},
                          {"FailureAction", "pause"}, {"Monitor", 5000000000},
                          {"MaxFailureRatio", 0},     {"Order", "start-first"}};
  spec["RollbackConfig"] = {{"Parallelism", 1},
                            {"FailureAction", "pause"},
                            {"Monitor", 5000000000},
                            {"MaxFailureRatio", 0},
                            {"Order", "stop-first"}};
  s["UpdateStatus"] = {{"State", "completed"},
                       {"StartedAt", "2026-11-28T00:27:18Z"},
                       {"CompletedAt", "2026-11-28T00:27:20Z"},
                       {"Message", "update completed"}};
  daemon.On("GET", "/services/t", {200, s.dump()});
  FakeClock clock(At("2026-11-28T04:30:00Z"));
  CliResult r = RunAgainst(daemon, {"service", "inspect", "--pretty", "t"}, "", &clock);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      "\nID:\t\ttomo5fhyqk4uexqfgl48kgxn1\nName:\t\tt\nLabels:\n a\n b=2\n"
      "Service Mode:\tReplicated\n Replicas:\t3\n"
      "UpdateStatus:\n State:\t\tcompleted\n Started:\t4 hours ago\n Completed:\t4 hours ago\n"
      " Message:\tupdate completed\n"
      "Placement:\n Constraints:\t[node.role==manager node.labels.zone == a]\n"
      "UpdateConfig:\n Parallelism:\t2\n Delay:\t\t1.5s\n On failure:\tpause\n"
      " Monitoring Period: 5s\n Max failure ratio: 0\n Update order:      start-first\n"
      "RollbackConfig:\n Parallelism:\t1\n On failure:\tpause\n Monitoring Period: 5s\n"
      " Max failure ratio: 0\n Rollback order:    stop-first\n"
      "ContainerSpec:\n Image:\t\t127.0.0.1:5999/anchor/busybox:local\n Args:\t\tsleep 100 \n"
      " Env:\t\tA=1 B=2 \n Dir:\t\t/w\n User: 1000:1000\n"
      "Secrets:\n Target:\tpassword\n  Source:\tpw\n Target:\tpwfile\n  Source:\tpwfile\n"
      "Resources:\nEndpoint Mode:\tvip\n\n");
}

std::string Frame(int stream, const std::string& payload) {
  std::string h(8, '\0');
  h[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  h[4] = static_cast<char>(n >> 24);
  h[5] = static_cast<char>(n >> 16);
  h[6] = static_cast<char>(n >> 8);
  h[7] = static_cast<char>(n);
  return h + payload;
}

constexpr char kDetails[] =
    "com.docker.swarm.node.id=yc0uftq0gefwrul771k45rkwh,com.docker.swarm.service.id="
    "tomo5fhyqk4uexqfgl48kgxn1,com.docker.swarm.task.id=aganipxb9wjpabn6c352wb14v ";

void ServeLogLookups(FakeDaemon& daemon) {
  daemon.On("GET", "/services/t", {200, kService});
  daemon.On("GET", "/services/tomo5fhyqk4uexqfgl48kgxn1", {200, kService});
  daemon.On(
      "GET", "/nodes/yc0uftq0gefwrul771k45rkwh",
      {200, R"({"ID":"yc0uftq0gefwrul771k45rkwh","Spec":{},"Description":{"Hostname":"vm"}})"});
  daemon.On("GET", "/tasks/aganipxb9wjpabn6c352wb14v",
            {200, R"({"ID":"aganipxb9wjpabn6c352wb14v","Slot":1})"});
}

TEST(ServiceLogsTest, DemultiplexesAndPrefixesLikeDocker) {
  FakeDaemon daemon;
  ServeLogLookups(daemon);
  daemon.On(
      "GET", "/services/t/logs",
      {200,
       Frame(1, std::string(kDetails) + "hello\n") + Frame(2, std::string(kDetails) + "oops\n") +
           Frame(1, std::string(kDetails) + "no newline"),
       "application/vnd.docker.raw-stream"});
  CliResult r = RunAgainst(daemon, {"service", "logs", "t"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "t.1.aganipxb9wjp@vm    | hello\nt.1.aganipxb9wjp@vm    | no newline");
  EXPECT_EQ(r.err, "t.1.aganipxb9wjp@vm    | oops\n");
  auto reqs = daemon.requests();
  EXPECT_EQ(reqs[1].target, "/v1.41/services/t/logs?details=1&stderr=1&stdout=1&tail=all");

  r = RunAgainst(daemon, {"service", "logs", "--no-trunc", "--tail", "5", "-f", "t"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("t.1.aganipxb9wjpabn6c352wb14v@vm    | hello\n", 0), 0u) << r.out;
  EXPECT_EQ(daemon.requests().back().path, "/tasks/aganipxb9wjpabn6c352wb14v");
  bool saw = false;
  for (const auto& req : daemon.requests()) {
    if (req.target == "/v1.41/services/t/logs?details=1&follow=1&stderr=1&stdout=1&tail=5")
      saw = true;
  }
  EXPECT_TRUE(saw);
}

TEST(ServiceLogsTest, TimestampsTasksAndBadFrames) {
  FakeDaemon daemon;
  ServeLogLookups(daemon);
  daemon.On("GET", "/services/aganipxb9wjpabn6c352wb14v", {404, R"({"message":"nope"})"});
  daemon.On("GET", "/tasks/aganipxb9wjpabn6c352wb14v/logs",
            {200, Frame(1, "2026-11-28T00:27:19.123456789Z " + std::string(kDetails) + "hi\n")});
  CliResult r = RunAgainst(daemon, {"service", "logs", "-t", "aganipxb9wjpabn6c352wb14v"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "2026-11-28T00:27:19.123456789Z t.1.aganipxb9wjp@vm    | hi\n");

  daemon.On("GET", "/services/t/logs", {200, Frame(1, "no-details here\n")});
  r = RunAgainst(daemon, {"service", "logs", "t"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "invalid details format\n");

  daemon.On("GET", "/services/nosuch", {404, R"({"message":"nope"})"});
  daemon.On("GET", "/tasks/nosuch", {404, R"({"message":"nope"})"});
  r = RunAgainst(daemon, {"service", "logs", "nosuch"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "no such task or service: nosuch\n");
}

TEST(ServiceRemoveTest, RemovesEachAndReportsMissing) {
  FakeDaemon daemon;
  daemon.On("DELETE", "/services/t", {200, ""});
  daemon.On("DELETE", "/services/u", {404, R"({"message":"service u not found"})"});
  CliResult r = RunAgainst(daemon, {"service", "rm", "t", "u"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "t\n");
  EXPECT_EQ(r.err, "Error: No such service: u\n");
}

}  // namespace
}  // namespace capsule::cli

namespace capsule::cli {
namespace {

// Capsule's --secret-refresh: sent on the /capsule/services routes as a secretRefresh query
// (the daemon checks the values); without it the Docker routes are used exactly as before.
TEST(ServiceSecretRefreshTest, CreateSendsThePoliciesOnTheCapsuleRoute) {
  FakeDaemon daemon;
  daemon.On("GET", "/secrets", {200, kSecrets});
  daemon.On("POST", "/capsule/services/create", {201, R"({"ID":"tomo5fhyqk4uexqfgl48kgxn1"})"});
  CliResult r = RunAgainst(daemon, {"service", "create", "-d", "--name", "t", "--secret", "pw",
                                    "--secret-refresh", "pw=signal:SIGHUP", "capsule/busybox:1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "tomo5fhyqk4uexqfgl48kgxn1\n");
  auto reqs = daemon.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].query["secretRefresh"], R"({"pw":"signal:SIGHUP"})");
  EXPECT_NE(reqs[1].target.find("/capsule/services/create?"), std::string::npos);
}

TEST(ServiceSecretRefreshTest, UpdateSendsThePoliciesAndAnEmptyValueRemoves) {
  FakeDaemon daemon;
  daemon.On("GET", "/services/t", {200, kService});
  daemon.On("GET", "/secrets", {200, kSecrets});
  daemon.On("POST", "/capsule/services/tomo5fhyqk4uexqfgl48kgxn1/update", {200, "{}"});
  CliResult r = RunAgainst(daemon, {"service", "update", "-d", "--secret-refresh", "pw=", "t"});
  EXPECT_EQ(r.code, 0) << r.err;
  auto reqs = daemon.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().query["secretRefresh"], R"({"pw":""})");
  EXPECT_EQ(reqs.back().query["version"], "37");
}

TEST(ServiceSecretRefreshTest, AValueWithoutANameIsAFlagError) {
  FakeDaemon daemon;
  CliResult r = RunAgainst(daemon, {"service", "create", "--secret-refresh", "signal:HUP", "img"});
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("for \"--secret-refresh\" flag: expected NAME=signal:SIG"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(daemon.requests().empty());
}

}  // namespace
}  // namespace capsule::cli
