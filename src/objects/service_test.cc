#include "objects/service.h"

#include <gtest/gtest.h>

namespace capsule {
namespace {

// Recorded from Docker 20.10 (oracle/docker-swarm/samples): a service after
// `service update --secret-add` (PreviousSpec, UpdateStatus) and one of its tasks.
constexpr char kOracleService[] =
    R"json({"ID":"tomo5fhyqk4uexqfgl48kgxn1","Version":{"Index":45},"CreatedAt":"2026-11-28T00:27:18.642486527Z","UpdatedAt":"2026-11-28T00:27:20.94553943Z","Spec":{"Name":"t","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"127.0.0.1:5999/anchor/busybox:local","Args":["sh","-c","trap \"exit 0\" TERM; for f in /run/secrets/*; do echo \"FILE $f $(stat -c \"%u %g %a %s\" $f) [$(cat $f)]\"; done; grep secrets /proc/mounts; ls -la /run/secrets; sleep 3600 & wait"],"Init":false,"DNSConfig":{},"Secrets":[{"File":{"Name":"password","UID":"2000","GID":"3000","Mode":256},"SecretID":"ii7hxx1yoe1izupm6vw0qkdxd","SecretName":"pw"},{"File":{"Name":"pwfile","UID":"0","GID":"0","Mode":292},"SecretID":"jag5shk58vngclfdckj5ibi3l","SecretName":"pwfile"},{"File":{"Name":"extra.txt","UID":"0","GID":"0","Mode":288},"SecretID":"b5xx73ipvaflx9iju13wtwgw1","SecretName":"extra"}],"Isolation":"default"},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0,"Runtime":"container"},"Mode":{"Replicated":{"Replicas":1}},"EndpointSpec":{"Mode":"vip"}},"PreviousSpec":{"Name":"t","Labels":{},"TaskTemplate":{"ContainerSpec":{"Image":"127.0.0.1:5999/anchor/busybox:local","Args":["sh","-c","trap \"exit 0\" TERM; for f in /run/secrets/*; do echo \"FILE $f $(stat -c \"%u %g %a %s\" $f) [$(cat $f)]\"; done; grep secrets /proc/mounts; ls -la /run/secrets; sleep 3600 & wait"],"Init":false,"DNSConfig":{},"Secrets":[{"File":{"Name":"password","UID":"2000","GID":"3000","Mode":256},"SecretID":"ii7hxx1yoe1izupm6vw0qkdxd","SecretName":"pw"},{"File":{"Name":"pwfile","UID":"0","GID":"0","Mode":292},"SecretID":"jag5shk58vngclfdckj5ibi3l","SecretName":"pwfile"}],"Isolation":"default"},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0,"Runtime":"container"},"Mode":{"Replicated":{"Replicas":1}},"EndpointSpec":{"Mode":"vip"}},"Endpoint":{"Spec":{}},"UpdateStatus":{"State":"updating","StartedAt":"2026-11-28T00:27:20.945529211Z","Message":"update in progress"}})json";
constexpr char kOracleTask[] =
    R"json({"ID":"aganipxb9wjpabn6c352wb14v","Version":{"Index":42},"CreatedAt":"2026-11-28T00:27:18.645950852Z","UpdatedAt":"2026-11-28T00:27:18.991715472Z","Labels":{},"Spec":{"ContainerSpec":{"Image":"127.0.0.1:5999/anchor/busybox:local","Args":["sh","-c","trap \"exit 0\" TERM; for f in /run/secrets/*; do echo \"FILE $f $(stat -c \"%u %g %a %s\" $f) [$(cat $f)]\"; done; grep secrets /proc/mounts; ls -la /run/secrets; sleep 3600 & wait"],"Init":false,"DNSConfig":{},"Secrets":[{"File":{"Name":"password","UID":"2000","GID":"3000","Mode":256},"SecretID":"ii7hxx1yoe1izupm6vw0qkdxd","SecretName":"pw"},{"File":{"Name":"pwfile","UID":"0","GID":"0","Mode":292},"SecretID":"jag5shk58vngclfdckj5ibi3l","SecretName":"pwfile"}],"Isolation":"default"},"Resources":{"Limits":{},"Reservations":{}},"Placement":{},"ForceUpdate":0},"ServiceID":"tomo5fhyqk4uexqfgl48kgxn1","Slot":1,"NodeID":"yc0uftq0gefwrul771k45rkwh","Status":{"Timestamp":"2026-11-28T00:27:18.980102642Z","State":"running","Message":"started","ContainerStatus":{"ContainerID":"d6f956fccaf8699f8bb2db2b235f613bba2b19bafd08b165f58eac5a47e27728","PID":1714,"ExitCode":0},"PortStatus":{}},"DesiredState":"running"})json";

TEST(ServiceObject, OracleServiceRendersIdentically) {
  Json want = Json::parse(kOracleService);
  Json stored = want;
  stored.erase("Version");
  StatusOr<Service> s = DecodeServiceMeta(stored.dump());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(ServiceJson(*s, 45).dump(2), want.dump(2));
  ASSERT_EQ(s->spec.task_template.container.secrets.size(), 3u);
  const SecretReference& r = s->spec.task_template.container.secrets[0];
  EXPECT_EQ(r.target, "password");
  EXPECT_EQ(r.uid, "2000");
  EXPECT_EQ(r.gid, "3000");
  EXPECT_EQ(r.mode, 0400u);
  EXPECT_EQ(r.secret_name, "pw");
  EXPECT_TRUE(r.has_file);
  EXPECT_FALSE(s->spec.global);
  EXPECT_EQ(s->spec.replicas, 1u);
  ASSERT_TRUE(s->previous_spec);
  EXPECT_EQ(s->previous_spec->task_template.container.secrets.size(), 2u);
  ASSERT_TRUE(s->update_status);
  EXPECT_EQ(s->update_status->state, "updating");
  EXPECT_EQ(s->update_status->completed_at, TimePoint{});
}

TEST(ServiceObject, OracleSpecParsesAndRendersIdentically) {
  Json want = Json::parse(kOracleService)["Spec"];
  StatusOr<ServiceSpec> spec = ParseServiceSpec(want);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(ServiceSpecJson(*spec).dump(2), want.dump(2));
}

TEST(ServiceObject, ConfigReferencesParseAndRenderAsDocker) {
  const Json spec =
      Json::parse(R"({"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"busybox","Configs":[)"
                  R"({"File":{"Name":"/etc/app.conf","UID":"0","GID":"0","Mode":292},)"
                  R"("ConfigID":"ktnb","ConfigName":"app.conf"},)"
                  R"({"Runtime":{},"ConfigID":"cred","ConfigName":"cred.spec"}]}}})");
  StatusOr<ServiceSpec> s = ParseServiceSpec(spec);
  ASSERT_TRUE(s.ok()) << s.status();
  const std::vector<ConfigReference>& refs = s->task_template.container.configs;
  ASSERT_EQ(refs.size(), 2u);
  EXPECT_EQ(refs[0].config_id, "ktnb");
  EXPECT_EQ(refs[0].config_name, "app.conf");
  EXPECT_TRUE(refs[0].has_file);
  EXPECT_EQ(refs[0].target, "/etc/app.conf");
  EXPECT_EQ(refs[0].mode, 0444u);
  EXPECT_FALSE(refs[1].has_file);
  EXPECT_TRUE(refs[1].has_runtime);
  const Json out = ServiceSpecJson(*s)["TaskTemplate"]["ContainerSpec"]["Configs"];
  EXPECT_EQ(out.dump(), spec["TaskTemplate"]["ContainerSpec"]["Configs"].dump());
}

TEST(ServiceObject, OracleTaskRendersIdentically) {
  Json want = Json::parse(kOracleTask);
  Json stored = want;
  stored.erase("Version");
  StatusOr<Task> t = DecodeTaskMeta(stored.dump());
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(TaskJson(*t, 42).dump(2), want.dump(2));
  EXPECT_EQ(t->status.state, TaskState::kRunning);
  EXPECT_EQ(t->desired_state, TaskState::kRunning);
  EXPECT_EQ(t->slot, 1u);
  ASSERT_TRUE(t->status.container);
  EXPECT_EQ(t->status.container->pid, 1714);
}

Task SampleTask() {
  Task t;
  t.id = "t1";
  t.created_at = FromUnixNanos(1700000000123456789LL);
  t.updated_at = FromUnixNanos(1700000001000000000LL);
  t.labels = {{"a", "b"}};
  t.spec.container.image = "busybox:1";
  t.spec.container.command = {"sh"};
  t.spec.container.args = {"-c", "sleep 1d"};
  t.spec.container.env = {"A=1"};
  t.spec.container.dir = "/tmp";
  t.spec.container.user = "1000:1000";
  t.spec.container.stop_grace_period_ns = 1000000000;
  t.spec.container.secrets.push_back({"sid", "pw", true, "password", "2000", "3000", 0400});
  RestartPolicy rp;
  rp.condition = "on-failure";
  rp.delay_ns = 100000000;
  rp.max_attempts = 3;
  rp.present = true;
  t.spec.restart_policy = rp;
  t.spec.placement.constraints = {"node.hostname==w1"};
  t.spec.force_update = 2;
  t.service_id = "s1";
  t.slot = 3;
  t.node_id = "n1";
  t.status.timestamp = FromUnixNanos(1700000002000000000LL);
  t.status.state = TaskState::kFailed;
  t.status.message = "started";
  t.status.err = "task: non-zero exit (1)";
  t.status.container = ContainerStatus{"c1", 42, 1};
  t.desired_state = TaskState::kShutdown;
  t.spec_version = 77;
  return t;
}

TEST(ServiceObject, TaskStoreRoundTripKeepsSpecVersion) {
  Task t = SampleTask();
  std::string meta = EncodeTaskMeta(t);
  EXPECT_NE(meta.find("\"SpecVersion\":77"), std::string::npos);
  EXPECT_EQ(meta.find("\"Version\""), std::string::npos);
  StatusOr<Task> back = DecodeTaskMeta(meta);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->spec_version, 77);
  EXPECT_EQ(EncodeTaskMeta(*back), meta);
  EXPECT_EQ(TaskJson(*back, 9), TaskJson(t, 9));
  // The API form never shows the internal field.
  EXPECT_FALSE(TaskJson(t, 9).contains("SpecVersion"));
  EXPECT_EQ(back->created_at, t.created_at);
  EXPECT_EQ(back->status.err, t.status.err);
  EXPECT_EQ(back->spec.restart_policy->max_attempts, 3u);
  EXPECT_EQ(back->spec.restart_policy->delay_ns, 100000000);
}

TEST(ServiceObject, PendingGlobalTaskOmitsSlotAndNode) {
  Task t;
  t.id = "t2";
  t.service_id = "s";
  Json j = TaskJson(t, 1);
  EXPECT_FALSE(j.contains("Slot"));
  EXPECT_FALSE(j.contains("NodeID"));
  EXPECT_EQ(j["Status"]["Timestamp"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["Status"]["State"], "new");
  EXPECT_EQ(j["DesiredState"], "running");
  StatusOr<Task> back = DecodeTaskMeta(EncodeTaskMeta(t));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->status.timestamp, TimePoint{});
}

TEST(ServiceObject, ServiceStoreRoundTrip) {
  Service s;
  s.id = "s1";
  s.created_at = FromUnixNanos(1700000000000000001LL);
  s.updated_at = FromUnixNanos(1700000000000000002LL);
  s.spec.name = "app";
  s.spec.labels = {{"x", "y"}};
  s.spec.global = true;
  s.spec.task_template.container.image = "img";
  UpdateConfig u;
  u.parallelism = 2;
  u.delay_ns = 1000;
  u.order = "start-first";
  s.spec.update_config = u;
  s.previous_spec = s.spec;
  s.previous_spec->global = false;
  s.previous_spec->replicas = 4;
  s.update_status = UpdateStatus{"completed", FromUnixNanos(5), FromUnixNanos(6), "done"};
  s.spec_version = 41;
  s.previous_spec_version = 17;
  std::string meta = EncodeServiceMeta(s);
  EXPECT_FALSE(ServiceJson(s, 3).contains("SpecVersion"));
  StatusOr<Service> back = DecodeServiceMeta(meta);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(EncodeServiceMeta(*back), meta);
  EXPECT_TRUE(back->spec.global);
  EXPECT_EQ(back->previous_spec->replicas, 4u);
  EXPECT_EQ(back->spec.update_config->order, "start-first");
  EXPECT_EQ(back->spec_version, 41);
  EXPECT_EQ(back->previous_spec_version, 17);
  Json j = ServiceJson(*back, 3);
  EXPECT_EQ(j["Spec"]["Mode"].dump(), R"({"Global":{}})");
  EXPECT_EQ(
      j["Spec"]["UpdateConfig"].dump(),
      R"({"Parallelism":2,"Delay":1000,"FailureAction":"pause","MaxFailureRatio":0.0,"Order":"start-first"})");
  EXPECT_EQ(j["Version"]["Index"], 3);
}

TEST(ServiceObject, ModeDefaults) {
  StatusOr<ServiceSpec> s = ParseServiceSpec(Json::parse(R"({"Name":"a"})"));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->global);
  EXPECT_EQ(s->replicas, 1u);
  s = ParseServiceSpec(Json::parse(R"({"Mode":{"Replicated":{}}})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->replicas, 1u);
  s = ParseServiceSpec(Json::parse(R"({"Mode":{"Replicated":{"Replicas":0}}})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->replicas, 0u);
  // Keys match case-insensitively, as Go's decoder does.
  s = ParseServiceSpec(Json::parse(R"({"name":"b","mode":{"global":{}}})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "b");
  EXPECT_TRUE(s->global);
}

TEST(ServiceObject, RestartPolicyRendersLikeTheDaemon) {
  StatusOr<ServiceSpec> s = ParseServiceSpec(
      Json::parse(R"({"TaskTemplate":{"RestartPolicy":{"Condition":"on-failure"}}})"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(TaskSpecJson(s->task_template)["RestartPolicy"].dump(),
            R"({"Condition":"on-failure","MaxAttempts":0})");
  EXPECT_EQ(s->task_template.restart_policy->delay_ns, 5000000000LL);
  s = ParseServiceSpec(Json::parse(R"({"TaskTemplate":{"RestartPolicy":{}}})"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->task_template.restart_policy->condition, "any");
}

struct BadSpec {
  const char* json;
  const char* message;
};

class ParseServiceSpecRejects : public ::testing::TestWithParam<BadSpec> {};

TEST_P(ParseServiceSpecRejects, WithMessage) {
  StatusOr<ServiceSpec> s = ParseServiceSpec(Json::parse(GetParam().json));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseServiceSpecRejects,
    ::testing::Values(
        BadSpec{R"({"Name":1})", "invalid Name: expected string"},
        BadSpec{R"({"Mode":{"Replicated":{"Replicas":-1}}})",
                "invalid Mode.Replicated.Replicas: expected uint64"},
        BadSpec{R"({"Mode":{"Replicated":{},"Global":{}}})",
                "cannot specify both replicated mode and global mode"},
        BadSpec{R"({"Mode":{"ReplicatedJob":{}}})", "job services are not supported"},
        BadSpec{R"({"TaskTemplate":{"RestartPolicy":{"Condition":"always"}}})",
                "invalid RestartCondition: \"always\""},
        BadSpec{R"({"UpdateConfig":{"Order":"random"}})", "unrecognized update order random"},
        BadSpec{R"({"UpdateConfig":{"FailureAction":"explode"}})",
                "unrecognized update failure action explode"},
        BadSpec{R"({"RollbackConfig":{"Order":"x"}})", "unrecognized update order x"},
        BadSpec{R"({"TaskTemplate":{"Runtime":"plugin"}})", "unsupported runtime"},
        BadSpec{R"({"EndpointSpec":{"Mode":"x"}})", "invalid resolution mode: \"x\""},
        BadSpec{R"({"TaskTemplate":{"ContainerSpec":{"Args":"sh"}}})",
                "invalid TaskTemplate.ContainerSpec.Args: expected array of strings"},
        BadSpec{R"({"TaskTemplate":{"ContainerSpec":{"Secrets":[{"File":{"Mode":"0400"}}]}}})",
                "invalid TaskTemplate.ContainerSpec.Secrets[0].File.Mode: expected uint64"},
        BadSpec{R"({"Labels":{"a":1}})", "invalid Labels.a: expected string"},
        BadSpec{R"({"TaskTemplate":{"Resources":{"Limits":{"MemoryBytes":"1g"}}}})",
                "invalid TaskTemplate.Resources.Limits.MemoryBytes: expected int64"},
        BadSpec{R"({"TaskTemplate":{"Resources":{"Reservations":[]}}})",
                "invalid TaskTemplate.Resources.Reservations: expected object"},
        BadSpec{R"([])", "invalid ServiceSpec: expected object"}));

TEST(ServiceObject, ResourcesRenderAsDocker) {
  // Docker's swarm.Limit {NanoCPUs, MemoryBytes, Pids} and swarm.Resources {NanoCPUs,
  // MemoryBytes}: each field omitempty; a part that was sent stays, even empty.
  const char* in =
      R"({"ContainerSpec":{"Image":"busybox"},"Resources":{"Limits":{"Pids":100,)"
      R"("MemoryBytes":33554432,"NanoCPUs":500000000},"Reservations":{"MemoryBytes":4194304,)"
      R"("GenericResources":[]}}})";
  StatusOr<TaskSpec> t = ParseTaskSpec(Json::parse(in));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_TRUE(t->resources && t->resources->limits && t->resources->reservations);
  EXPECT_EQ(t->resources->limits->nano_cpus, 500000000);
  EXPECT_EQ(t->resources->limits->memory_bytes, 33554432);
  EXPECT_EQ(t->resources->limits->pids, 100);
  EXPECT_EQ(t->resources->reservations->memory_bytes, 4194304);
  EXPECT_EQ(TaskSpecJson(*t)["Resources"].dump(),
            R"({"Limits":{"NanoCPUs":500000000,"MemoryBytes":33554432,"Pids":100},)"
            R"("Reservations":{"MemoryBytes":4194304}})");

  StatusOr<TaskSpec> empty = ParseTaskSpec(Json::parse(R"({"Resources":{"Limits":{}}})"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(TaskSpecJson(*empty)["Resources"].dump(), R"({"Limits":{}})");
  StatusOr<TaskSpec> none = ParseTaskSpec(Json::parse(R"({})"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(TaskSpecJson(*none).contains("Resources"));
}

// Placement.Platforms, as the CLI sends them after resolving the image: rendered as Docker's
// swarm.Platform list after Constraints, and kept through the store.
TEST(ServiceObject, PlacementPlatformsRenderAsDockerAndSurviveTheStore) {
  const char* in =
      R"({"ContainerSpec":{"Image":"busybox"},"Placement":{"Constraints":["node.role==worker"],)"
      R"("Platforms":[{"Architecture":"amd64","OS":"linux"},{"Architecture":"","OS":"linux"}]}})";
  StatusOr<TaskSpec> t = ParseTaskSpec(Json::parse(in));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->placement.platforms.size(), 2u);
  EXPECT_EQ(t->placement.platforms[0].architecture, "amd64");
  EXPECT_EQ(t->placement.platforms[1].os, "linux");
  EXPECT_EQ(TaskSpecJson(*t)["Placement"].dump(),
            R"({"Constraints":["node.role==worker"],"Platforms":[{"Architecture":"amd64",)"
            R"("OS":"linux"},{"Architecture":"","OS":"linux"}]})");
  Task task;
  task.id = "t1";
  task.spec = *t;
  StatusOr<Task> back = DecodeTaskMeta(EncodeTaskMeta(task));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(TaskSpecJson(back->spec)["Placement"], TaskSpecJson(*t)["Placement"]);
  EXPECT_FALSE(ParseTaskSpec(Json::parse(R"({"Placement":{"Platforms":{}}})")).ok());
}

TEST(ServiceObject, ResourcesSurviveTheStore) {
  Task t;
  t.id = "t1";
  t.spec.container.image = "busybox";
  t.spec.resources = ResourceRequirements{ResourceLimits{1000000000, 64 << 20, 50},
                                          ResourceReservations{250000000, 8 << 20}};
  StatusOr<Task> back = DecodeTaskMeta(EncodeTaskMeta(t));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(back->spec.resources && back->spec.resources->limits);
  EXPECT_EQ(back->spec.resources->limits->nano_cpus, 1000000000);
  EXPECT_EQ(back->spec.resources->limits->memory_bytes, 64 << 20);
  EXPECT_EQ(back->spec.resources->limits->pids, 50);
  EXPECT_EQ(back->spec.resources->reservations->nano_cpus, 250000000);
  EXPECT_EQ(back->spec.resources->reservations->memory_bytes, 8 << 20);
}

TEST(ServiceObject, TaskStateNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(TaskState::kOrphaned); ++i) {
    TaskState s = static_cast<TaskState>(i);
    EXPECT_EQ(ParseTaskState(TaskStateName(s)), s);
  }
  EXPECT_STREQ(TaskStateName(TaskState::kAssigned), "assigned");
  EXPECT_FALSE(ParseTaskState("bogus"));
  EXPECT_TRUE(IsTerminal(TaskState::kShutdown));
  EXPECT_FALSE(IsTerminal(TaskState::kRunning));
}

TEST(ServiceObject, DecodeRejectsGarbage) {
  EXPECT_EQ(DecodeServiceMeta("{").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeTaskMeta(R"({"ID":"x","Spec":{},"DesiredState":"nope"})").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace capsule
