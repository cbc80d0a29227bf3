#include "cli/context.h"

#include <thread>

#include "absl/strings/str_cat.h"

namespace capsule::cli {

SleepFn RealSleep() {
  return [](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); };
}

StatusOr<HttpClient*> CommandContext::Client() {
  if (client_ == nullptr) {
    ASSIGN_OR_RETURN(DaemonHost host, ResolveHost(host_flag_, env_));
    client_ = std::make_unique<HttpClient>(std::move(host));
  }
  return client_.get();
}

Status CheckArgCount(const CommandUsage& usage, size_t count, int min, int max) {
  const int n = static_cast<int>(count);
  if (n >= min && (max < 0 || n <= max)) return absl::OkStatus();
  auto plural = [](int k) { return k == 1 ? "argument" : "arguments"; };
  const std::string full = absl::StrCat(kProgramName, " ", usage.path);
  std::string what;
  if (max == 0) {
    what = "accepts no arguments.";
  } else if (min == max) {
    what = absl::StrCat("requires exactly ", min, " ", plural(min), ".");
  } else if (max < 0) {
    what = absl::StrCat("requires at least ", min, " ", plural(min), ".");
  } else {
    what = absl::StrCat("requires at least ", min, " and at most ", max, " ", plural(max), ".");
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", full, "\" ", what, "\nSee '", full,
                                                 " --help'.\n\nUsage:  ", full, " ", usage.args,
                                                 "\n\n", usage.description));
}

}  // namespace capsule::cli
