// What every command function gets: where to write, where stdin is, the clock, and a
// lazily created client for the daemon chosen by -H / $CAPSULE_HOST / $DOCKER_HOST.
// Also the docker-style argument-count check every command uses.
#pragma once

#include <chrono>
#include <functional>
#include <istream>
#include <memory>
#include <ostream>
#include <string>

#include "cli/host.h"
#include "cli/http_client.h"
#include "common/clock.h"
#include "common/status.h"

namespace capsule::cli {

inline constexpr char kProgramName[] = "capsule";

// Waits between polls (`service create` watching its tasks); tests pass one that advances a
// fake clock instead of sleeping.
using SleepFn = std::function<void(std::chrono::nanoseconds)>;

// std::this_thread::sleep_for.
SleepFn RealSleep();

struct CliIo {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
};

class CommandContext {
 public:
  CommandContext(CliIo io, const Clock& clock, EnvLookup env, SleepFn sleep = RealSleep())
      : io_(io), clock_(clock), env_(std::move(env)), sleep_(std::move(sleep)) {}

  std::ostream& out() { return io_.out; }
  std::ostream& err() { return io_.err; }
  std::istream& in() { return io_.in; }
  const Clock& clock() const { return clock_; }
  void Sleep(std::chrono::nanoseconds d) const { sleep_(d); }
  // The CLI's environment (`-e NAME` without a value takes NAME's value from it, as docker).
  const EnvLookup& env() const { return env_; }

  // The value of -H/--host ("" when not given).
  void set_host_flag(std::string host) { host_flag_ = std::move(host); }

  // The client for the resolved host; created on first use. Fails for unsupported hosts.
  StatusOr<HttpClient*> Client();

  // Set by the command that ran (commands are CLI11 callbacks, which return nothing).
  void SetResult(Status status) {
    result_ = std::move(status);
    ran_ = true;
  }
  // A bad flag value found by the command itself (docker: `invalid argument "x" for
  // "--replicas" flag: …`): printed like a parse error, exit code 125.
  void SetFlagError(Status status) {
    SetResult(std::move(status));
    flag_error_ = true;
  }
  const Status& result() const { return result_; }
  bool ran() const { return ran_; }
  bool flag_error() const { return flag_error_; }

 private:
  CliIo io_;
  const Clock& clock_;
  EnvLookup env_;
  SleepFn sleep_;
  std::string host_flag_;
  std::unique_ptr<HttpClient> client_;
  Status result_;
  bool ran_ = false;
  bool flag_error_ = false;
};

// Describes a command for usage errors, e.g. {"secret create", "[OPTIONS] SECRET [file|-]",
// "Create a secret from a file or STDIN as content"}.
struct CommandUsage {
  std::string path;
  std::string args;
  std::string description;
};

// Checks min <= count <= max (max < 0: unbounded) and otherwise returns InvalidArgument with
// the docker CLI's text:
//   "capsule secret rm" requires at least 1 argument.
//   See 'capsule secret rm --help'.
//
//   Usage:  capsule secret rm SECRET [SECRET...]
//
//   Remove one or more secrets
Status CheckArgCount(const CommandUsage& usage, size_t count, int min, int max);

}  // namespace capsule::cli
