#include "agent/executor/oci_spec.h"

#include <map>

#include "agent/executor/seccomp_profile.h"

namespace capsule::agent {
namespace {

using json = nlohmann::json;

const std::vector<std::string>& DefaultCapabilities() {
  // Docker's default set (moby oci/caps/defaults.go).
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return caps;
}

json Mount(const std::string& dest, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return json{{"destination", dest}, {"type", type}, {"source", source}, {"options", options}};
}

std::string KeyOf(const std::string& kv) { return kv.substr(0, kv.find('=')); }

// What confines a task beyond its namespaces and capabilities, as Docker's defaults do:
//  - Docker's default seccomp profile (seccomp_profile.h) for the task's capabilities;
//  - Docker's masked paths (an empty read-only tmpfs on a directory, /dev/null on a file) and
//    read-only paths (moby oci/defaults.go, with /sys/devices/virtual/powercap, CVE-2020-8694);
//  - a private cgroup namespace: the task sees its own cgroup as "/" in /proc/self/cgroup and
//    under /sys/fs/cgroup instead of the host's hierarchy and paths. Docker makes it private by
//    default on cgroup v2 and host on v1 (for old kernels/runtimes only); runc 1.1 supports it on
//    this host's v1 hierarchies too, so we take the safer choice everywhere;
//  - RLIMIT_NOFILE 1048576 soft and hard: what a task gets under Docker on Debian (dockerd's and
//    containerd's units set LimitNOFILE=infinity, which the kernel caps at fs.nr_open, 1048576 by
//    default, and moby's spec sets no rlimits so tasks inherit it). Stated rather than inherited,
//    so a low soft limit of capsuled's does not leak into tasks; capped by the caller at the
//    daemon's own hard limit when it lacks CAP_SYS_RESOURCE to go beyond (in.nofile). Other
//    rlimits are inherited, as under Docker.
void AddConfinement(const OciInputs& in, json& spec) {
  json& linux = spec["linux"];
  linux["seccomp"] = RenderSeccompProfile(DefaultCapabilities(), in.seccomp_host);
  linux["namespaces"].push_back({{"type", "cgroup"}});
  linux["maskedPaths"] = {"/proc/asound",
                          "/proc/acpi",
                          "/proc/kcore",
                          "/proc/keys",
                          "/proc/latency_stats",
                          "/proc/timer_list",
                          "/proc/timer_stats",
                          "/proc/sched_debug",
                          "/proc/scsi",
                          "/sys/firmware",
                          "/sys/devices/virtual/powercap"};
  linux["readonlyPaths"] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                            "/proc/sysrq-trigger"};
  spec["process"]["rlimits"] =
      json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", in.nofile}, {"soft", in.nofile}}});
}

}  // namespace

StatusOr<std::vector<std::string>> TaskArgs(const TaskRun& run, const ImageConfig& image) {
  std::vector<std::string> args = run.command.empty() ? image.entrypoint : run.command;
  if (!run.args.empty()) {
    args.insert(args.end(), run.args.begin(), run.args.end());
  } else if (run.command.empty()) {
    args.insert(args.end(), image.cmd.begin(), image.cmd.end());
  }
  if (args.empty()) return absl::InvalidArgumentError("no command specified");
  return args;
}

std::vector<std::string> TaskEnv(const TaskRun& run, const ImageConfig& image,
                                 const std::string& hostname) {
  std::vector<std::string> env;
  std::map<std::string, size_t> index;
  auto set = [&](const std::string& kv) {
    const std::string key = KeyOf(kv);
    if (key.empty()) return;
    auto it = index.find(key);
    if (it != index.end()) {
      env[it->second] = kv;
    } else {
      index[key] = env.size();
      env.push_back(kv);
    }
  };
  if (image.env.empty()) {
    set(kDefaultPath);
  } else {
    for (const std::string& kv : image.env) set(kv);
  }
  set("HOSTNAME=" + hostname);
  for (const std::string& kv : run.env) set(kv);
  return env;
}

json RenderResources(const TaskLimits& limits) {
  json r = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  if (limits.memory_bytes > 0) r["memory"] = {{"limit", limits.memory_bytes}};
  if (limits.nano_cpus > 0) {
    // Docker: quota = NanoCPUs * period / 1e9 (integer arithmetic, 1e6 NanoCPUs → 100 us).
    const int64_t quota = limits.nano_cpus / 1000000000 * kCpuPeriodUs +
                          limits.nano_cpus % 1000000000 * kCpuPeriodUs / 1000000000;
    r["cpu"] = {{"quota", quota}, {"period", kCpuPeriodUs}};
  }
  r["pids"] = {{"limit", limits.pids > 0 ? limits.pids : kDefaultPidsLimit}};
  return r;
}

json BuildOciSpec(const OciInputs& in) {
  const std::vector<std::string>& caps = DefaultCapabilities();
  json user = {{"uid", in.user.uid}, {"gid", in.user.gid}};
  if (!in.user.additional_gids.empty()) user["additionalGids"] = in.user.additional_gids;

  json mounts = json::array({
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"ro", "nosuid", "noexec", "nodev"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
  });
  for (const SecretBind& b : in.secrets) {
    mounts.push_back(
        Mount(b.destination, "bind", b.source, {"rbind", "ro", "nosuid", "nodev", "noexec"}));
  }

  json spec{
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", user},
        {"args", in.args},
        {"env", in.env},
        {"cwd", in.cwd.empty() ? "/" : in.cwd},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
        {"noNewPrivileges", true}}},
      {"root", {{"path", in.rootfs}, {"readonly", false}}},
      {"hostname", in.hostname},
      {"mounts", mounts},
      {"linux",
       {{"resources", RenderResources(in.limits)},
        {"namespaces", json::array({{{"type", "pid"}},
                                    {{"type", "ipc"}},
                                    {{"type", "uts"}},
                                    {{"type", "mount"}},
                                    {{"type", "network"}}})}}},
  };
  AddConfinement(in, spec);
  return spec;
}

}  // namespace capsule::agent
