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
  EXPECT_EQ(ns, (std::vector<std::string>{"pid", "ipc", "uts", "mount", "network", "cgroup"}));
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

OciInputs MinimalInputs() {
  OciInputs in;
  in.args = {"sh"};
  in.rootfs = "/x/rootfs";
  in.seccomp_host = {"amd64", {6, 1}};
  return in;
}

const nlohmann::json* MountAt(const nlohmann::json& spec, const std::string& dest) {
  for (const auto& m : spec["mounts"]) {
    if (m["destination"] == dest) return &m;
  }
  return nullptr;
}

TEST(OciSpecTest, DockersDefaultSeccompProfileForTheTasksCaps) {
  OciInputs in = MinimalInputs();
  nlohmann::json spec = BuildOciSpec(in);
  const nlohmann::json& seccomp = spec["linux"]["seccomp"];
  EXPECT_EQ(seccomp,
            RenderSeccompProfile(
                spec["process"]["capabilities"]["bounding"].get<std::vector<std::string>>(),
                in.seccomp_host));
  EXPECT_EQ(seccomp["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(seccomp["defaultErrnoRet"], 1);
  EXPECT_GT(seccomp["syscalls"].size(), 10u);
  std::string all = seccomp.dump();
  EXPECT_EQ(all.find("\"unshare\""), std::string::npos);
  EXPECT_EQ(all.find("\"mount\""), std::string::npos);
  EXPECT_NE(all.find("\"ptrace\""), std::string::npos);  // kernel 6.1 >= 4.8
}

TEST(OciSpecTest, DockersMaskedAndReadonlyPaths) {
  nlohmann::json spec = BuildOciSpec(MinimalInputs());
  EXPECT_EQ(spec["linux"]["maskedPaths"],
            nlohmann::json::array({"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                                   "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                   "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                                   "/sys/devices/virtual/powercap"}));
  EXPECT_EQ(spec["linux"]["readonlyPaths"],
            nlohmann::json::array(
                {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}));
}

TEST(OciSpecTest, PrivateCgroupNamespace) {
  nlohmann::json spec = BuildOciSpec(MinimalInputs());
  int cgroup = 0;
  for (const auto& n : spec["linux"]["namespaces"]) {
    if (n["type"] == "cgroup") {
      ++cgroup;
      EXPECT_FALSE(n.contains("path"));  // a new one, not the host's
    }
  }
  EXPECT_EQ(cgroup, 1);
  const nlohmann::json* m = MountAt(spec, "/sys/fs/cgroup");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ((*m)["options"], nlohmann::json::array({"ro", "nosuid", "noexec", "nodev"}));
}

TEST(OciSpecTest, DevShmIs64MiBNosuidNoexecNodev) {
  nlohmann::json spec = BuildOciSpec(MinimalInputs());
  const nlohmann::json* m = MountAt(spec, "/dev/shm");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ((*m)["type"], "tmpfs");
  EXPECT_EQ((*m)["options"],
            nlohmann::json::array({"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}));
}

TEST(OciSpecTest, NofileRlimitAsDockerOnDebian) {
  nlohmann::json spec = BuildOciSpec(MinimalInputs());
  EXPECT_EQ(
      spec["process"]["rlimits"],
      nlohmann::json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1048576}, {"soft", 1048576}}}));
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
