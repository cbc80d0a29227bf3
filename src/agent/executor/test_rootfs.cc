#include "agent/executor/test_rootfs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace capsule::agent::testing {

void BuildBusyboxRootfs(const std::string& dir) {
  auto check = [](bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error("building test rootfs: " + what);
  };
  check(::mkdir(dir.c_str(), 0755) == 0, "mkdir " + dir);
  for (const char* sub : {"bin", "etc", "proc", "sys", "dev", "tmp", "run", "root"}) {
    const std::string p = dir + "/" + sub;
    check(::mkdir(p.c_str(), 0755) == 0, "mkdir " + p);
  }
  ::chmod((dir + "/tmp").c_str(), 01777);
  {
    std::ifstream in("/bin/busybox", std::ios::binary);
    check(in.good(), "/bin/busybox missing (apt-get install busybox-static)");
    std::ofstream out(dir + "/bin/busybox", std::ios::binary);
    out << in.rdbuf();
    check(out.good(), "copy busybox");
  }
  check(::chmod((dir + "/bin/busybox").c_str(), 0755) == 0, "chmod busybox");
  for (const char* app :
       {"sh",       "cat", "stat", "sleep", "grep",   "ls", "id",   "mount", "echo",  "env",
        "hostname", "pwd", "true", "false", "printf", "ip", "head", "seq",   "touch", "kill"}) {
    const std::string link = dir + "/bin/" + app;
    check(::symlink("busybox", link.c_str()) == 0, "symlink " + link);
  }
  std::ofstream(dir + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                     << "app:x:2000:3000:app:/home/app:/bin/sh\n";
  std::ofstream(dir + "/etc/group") << "root:x:0:\n"
                                    << "app:x:3000:\n"
                                    << "extra:x:4000:app\n";
}

}  // namespace capsule::agent::testing
