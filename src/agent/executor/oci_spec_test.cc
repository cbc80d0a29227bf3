#include "agent/executor/oci_spec.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace capsule::agent {
namespace {

TEST(TaskArgsTest, ImageEntrypointAndCmd) {
  ImageConfig image;
  image.cmd = {"-c", "echo"};
  image.entrypoint = {"/bin/sh"};
  TaskRun run;
  EXPECT_EQ(*TaskArgs(run, image), (std::vector<std::string>{"/bin/sh", "-c", "echo"}));
}

TEST(TaskArgsTest, ArgsReplaceCmd) {
  ImageConfig image;
  image.cmd = {"-c", "echo"};
  image.entrypoint = {"/bin/sh"};
  TaskRun run;
  run.args = {"-c", "true"};
  EXPECT_EQ(*TaskArgs(run, image), (std::vector<std::string>{"/bin/sh", "-c", "true"}));
}

TEST(TaskArgsTest, CommandReplacesEntrypointAndDropsImageCmd) {
  ImageConfig image;
  image.cmd = {"/bin/sh"};
  image.entrypoint = {"/entry"};
  TaskRun run;
  run.command = {"sleep"};
  EXPECT_EQ(*TaskArgs(run, image), (std::vector<std::string>{"sleep"}));
  run.args = {"5"};
  EXPECT_EQ(*TaskArgs(run, image), (std::vector<std::string>{"sleep", "5"}));
}

TEST(TaskArgsTest, NothingToRunIsInvalid) {
  TaskRun run;
  auto args = TaskArgs(run, ImageConfig{});
  EXPECT_EQ(args.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(args.status().message(), "no command specified");
}

TEST(TaskEnvTest, DefaultPathWhenImageHasNoEnv) {
  TaskRun run;
  run.env = {"A=1"};
  EXPECT_EQ(TaskEnv(run, ImageConfig{}, "h"),
            (std::vector<std::string>{kDefaultPath, "HOSTNAME=h", "A=1"}));
}

TEST(TaskEnvTest, TaskEnvOverridesImageEnvInPlace) {
  ImageConfig image;
  image.env = {"PATH=/bin", "X=image"};
  TaskRun run;
  run.env = {"X=task", "PATH=/usr/bin"};
  EXPECT_EQ(TaskEnv(run, image, "h"),
            (std::vector<std::string>{"PATH=/usr/bin", "X=task", "HOSTNAME=h"}));
}

TEST(OciSpecTest, DockerDefaultsAndSecretBinds) {
  OciInputs in;
  in.args = {"sh"};
  in.env = {"PATH=/bin"};
  in.user = {2000, 3000, {4000}};
  in.hostname = "abc";
  in.rootfs = "/x/rootfs";
  in.secrets = {{"/run/capsule/secrets/t/s1", "/run/secrets/password"}};
  nlohmann::json spec = BuildOciSpec(in);
  EXPECT_EQ(spec["ociVersion"], "1.0.2");
  EXPECT_EQ(spec["process"]["terminal"], false);
  EXPECT_EQ(spec["process"]["noNewPrivileges"], true);
  EXPECT_EQ(spec["process"]["user"]["uid"], 2000);
  EXPECT_EQ(spec["process"]["user"]["gid"], 3000);
  EXPECT_EQ(spec["process"]["user"]["additionalGids"], nlohmann::json::array({4000}));
  EXPECT_EQ(spec["process"]["cwd"], "/");
  EXPECT_EQ(spec["root"]["path"], "/x/rootfs");
  EXPECT_EQ(spec["root"]["readonly"], false);
  EXPECT_EQ(spec["hostname"], "abc");
  auto caps = spec["process"]["capabilities"]["bounding"].get<std::vector<std::string>>();
  EXPECT_EQ(caps.size(), 14u);
  for (const char* c : {"CAP_DAC_OVERRIDE", "CAP_CHOWN", "CAP_SETUID", "CAP_NET_BIND_SERVICE"}) {
    EXPECT_NE(std::find(caps.begin(), caps.end(), c), caps.end()) << c;
  }
  EXPECT_EQ(std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN"), caps.end());
  std::vector<std::string> ns;
  for (const auto& n : spec["linux"]["namespaces"]) ns.push_back(n["type"]);
  EXPECT_EQ(ns, (std::vector<std::string>{"pid", "ipc", "uts", "mount", "network"}));
  EXPECT_FALSE(spec["linux"].contains("cgroupsPath"));
  const auto& last = spec["mounts"].back();
  EXPECT_EQ(last["destination"], "/run/secrets/password");
  EXPECT_EQ(last["source"], "/run/capsule/secrets/t/s1");
  EXPECT_EQ(last["type"], "bind");
  EXPECT_EQ(last["options"], nlohmann::json::array({"rbind", "ro", "nosuid", "nodev", "noexec"}));
  std::vector<std::string> dests;
  for (const auto& m : spec["mounts"]) dests.push_back(m["destination"]);
  for (const char* d : {"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"}) {
    EXPECT_NE(std::find(dests.begin(), dests.end(), d), dests.end()) << d;
  }
}

TEST(OciResourcesTest, NoLimitsStillCapsPidsAndDeniesDevices) {
  const nlohmann::json r = RenderResources(TaskLimits{});
  EXPECT_EQ(r["pids"]["limit"], kDefaultPidsLimit);
  EXPECT_FALSE(r.contains("memory"));
  EXPECT_FALSE(r.contains("cpu"));
  EXPECT_EQ(r["devices"][0]["allow"], false);
  EXPECT_EQ(r["devices"][0]["access"], "rwm");
}

TEST(OciResourcesTest, LimitsRenderAsDocker) {
  const nlohmann::json r = RenderResources(TaskLimits{1500000000, 64 << 20, 100});
  EXPECT_EQ(r["memory"]["limit"], 64 << 20);
  EXPECT_EQ(r["cpu"]["period"], 100000);
  EXPECT_EQ(r["cpu"]["quota"], 150000);  // 1.5 CPUs
  EXPECT_EQ(r["pids"]["limit"], 100);
}

TEST(OciResourcesTest, CpuQuotaRoundsDownAndDoesNotOverflow) {
  EXPECT_EQ(RenderResources(TaskLimits{1000000, 0, 0})["cpu"]["quota"], 100);  // 0.001 CPU
  EXPECT_EQ(RenderResources(TaskLimits{1234567, 0, 0})["cpu"]["quota"], 123);
  // 92e9 CPUs: NanoCPUs * period would overflow int64.
  EXPECT_EQ(RenderResources(TaskLimits{INT64_MAX, 0, 0})["cpu"]["quota"],
            INT64_MAX / 1000000000 * 100000 + INT64_MAX % 1000000000 * 100000 / 1000000000);
}

TEST(OciResourcesTest, BuildOciSpecCarriesTheLimits) {
  OciInputs in;
  in.args = {"true"};
  in.rootfs = "/r";
  in.limits = TaskLimits{0, 32 << 20, 0};
  const nlohmann::json spec = BuildOciSpec(in);
  EXPECT_EQ(spec["linux"]["resources"]["memory"]["limit"], 32 << 20);
  EXPECT_EQ(spec["linux"]["resources"]["pids"]["limit"], kDefaultPidsLimit);
}

}  // namespace
}  // namespace capsule::agent
