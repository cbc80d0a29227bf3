// The whole `capsule` command line as a library call, so tests run it in-process:
// parses args (without argv[0]), runs one command, prints its result and returns the exit
// code — 0 on success, 1 for command and usage errors (as docker), 125 for flag parse errors
// (as docker's "unknown flag"). Help (-h, or a group without a command) prints to out, 0.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"

namespace capsule::cli {

int RunCli(const std::vector<std::string>& args, CliIo io, const Clock& clock, EnvLookup env,
           SleepFn sleep = RealSleep());

}  // namespace capsule::cli
