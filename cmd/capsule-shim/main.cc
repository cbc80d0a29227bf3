// capsule-shim: runs one task's container for the executor (src/agent/shim/shim.h).
//   capsule-shim --bundle D --id ID --root <exec-root>/runc --log <data-root>/tasks/ID/log
//                --status D/status --pid-file D/pid --runc-log D/runc.log [--runc PATH]
//                [--ready-fd N]
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "agent/shim/shim.h"

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (name.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::fprintf(stderr, "capsule-shim: bad argument %s\n", argv[i]);
      return 2;
    }
    flags[name.substr(2)] = argv[i + 1];
  }
  capsule::agent::ShimOptions o;
  o.bundle = flags["bundle"];
  o.id = flags["id"];
  o.runc_root = flags["root"];
  o.log_path = flags["log"];
  o.status_path = flags["status"];
  o.pid_file = flags["pid-file"];
  o.runc_log = flags["runc-log"];
  if (flags.count("runc")) o.runc_binary = flags["runc"];
  if (flags.count("ready-fd")) o.ready_fd = std::atoi(flags["ready-fd"].c_str());
  for (const std::string* f :
       {&o.bundle, &o.id, &o.runc_root, &o.log_path, &o.status_path, &o.pid_file, &o.runc_log}) {
    if (f->empty()) {
      std::fprintf(stderr,
                   "usage: capsule-shim --bundle D --id ID --root R --log L --status S "
                   "--pid-file P --runc-log F [--runc PATH] [--ready-fd N]\n");
      return 2;
    }
  }
  switch (capsule::agent::DaemonizeShim()) {
    case 1:
      return 0;
    case -1:
      std::perror("capsule-shim: fork");
      return 1;
    default:
      break;
  }
  return capsule::agent::RunShim(o);
}
