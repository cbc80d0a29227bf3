// What this machine offers tasks, as a node's Description.Resources reports it (Docker: the
// engine's NCPU — the CPUs this process may run on — times 1e9, and MemTotal from
// /proc/meminfo). The scheduler sets the reservations of the tasks placed on a node against
// these. Reads /proc and the CPU affinity mask; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

namespace capsule::node {

struct MachineResources {
  int64_t nano_cpus = 0;
  int64_t memory_bytes = 0;  // 0 when /proc/meminfo cannot be read
};

MachineResources ReadMachineResources();

// MemTotal from /proc/meminfo's text ("MemTotal:  24683520 kB") in bytes; 0 when absent.
int64_t ParseMemTotal(std::string_view meminfo);

}  // namespace capsule::node
