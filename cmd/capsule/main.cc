// capsule: the command-line client of capsuled (a Docker Engine API subset on a unix socket).
#include <iostream>
#include <string>
#include <vector>

#include "cli/app.h"
#include "common/clock.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  capsule::cli::CliIo io{std::cout, std::cerr, std::cin};
  const int code = capsule::cli::RunCli(args, io, capsule::RealClock(), capsule::cli::ProcessEnv());
  std::cout.flush();
  return code;
}
