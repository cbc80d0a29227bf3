#include "agent/executor/oci_spec.h"

#include <map>

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

  return json{
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", user},
        {"args", in.args},
        {"env", in.env},
        {"cwd", in.cwd.empty() ? "/" : in.cwd},
        {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
        // No rlimits: like Docker, tasks inherit the daemon's.
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
                                    {{"type", "network"}}})},
        {"maskedPaths", json::array({"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                                     "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                     "/proc/sched_debug", "/proc/scsi", "/sys/firmware"})},
        {"readonlyPaths",
         json::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})}}},
  };
}

}  // namespace capsule::agent
