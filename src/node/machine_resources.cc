#include "node/machine_resources.h"

#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "common/file_read.h"

namespace capsule::node {

int64_t ParseMemTotal(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemTotal:";
  size_t at = meminfo.find(kKey);
  if (at == std::string_view::npos || (at != 0 && meminfo[at - 1] != '\n')) return 0;
  std::string_view rest = meminfo.substr(at + kKey.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  int64_t kib = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  if (ec != std::errc() || kib <= 0 || kib > INT64_MAX / 1024) return 0;
  return kib * 1024;  // the kernel's "kB" is KiB
}

MachineResources ReadMachineResources() {
  MachineResources r;
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 0;
  if (cpus <= 0) cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  r.nano_cpus = static_cast<int64_t>(cpus > 0 ? cpus : 1) * 1000000000LL;
  r.memory_bytes = ParseMemTotal(ReadFileOrEmpty("/proc/meminfo"));
  return r;
}

}  // namespace capsule::node
