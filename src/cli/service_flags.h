// The flags `service create` and `service update` share, as typed values. The command files
// collect raw strings; ParseServiceFlags checks them the way the docker CLI's flag types do
// (its errors are flag errors: exit code 125).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::cli {

// One --secret / --secret-add value: "pw" or "source=pw,target=t,uid=1,gid=2,mode=0400".
struct SecretFlag {
  std::string source;
  std::string target;  // defaults to source
  std::string uid = "0";
  std::string gid = "0";
  uint32_t mode = 0444;
};

// Parses one --secret value as docker's opts.SecretOpt (CSV fields, mode through
// strconv.ParseUint base 0, so "0400" is octal). Errors carry docker's text.
StatusOr<SecretFlag> ParseSecretFlag(const std::string& value);

// Raw values as typed on the command line; nullopt = flag not given.
struct RawServiceFlags {
  std::optional<std::string> replicas;
  std::optional<std::string> restart_delay;
  std::optional<std::string> restart_max_attempts;
  std::optional<std::string> restart_window;
  std::optional<std::string> update_parallelism;
  std::optional<std::string> update_delay;
  std::optional<std::string> update_monitor;
  std::vector<std::string> secrets;  // --secret (create) or --secret-add (update)
  std::optional<std::string> limit_cpu;
  std::optional<std::string> limit_memory;
  std::optional<std::string> limit_pids;
  std::optional<std::string> reserve_cpu;
  std::optional<std::string> reserve_memory;
  std::vector<std::string> secret_refresh;  // --secret-refresh NAME=POLICY (create, update)
};

struct ServiceFlags {
  // Shared by create and update.
  std::optional<uint64_t> replicas;
  std::vector<SecretFlag> secrets;
  std::vector<std::string> env;  // --env (create) / --env-add (update), "K=V" or "K"
  std::optional<std::string> workdir;
  std::optional<std::string> user;
  std::optional<std::string> restart_condition;
  std::optional<int64_t> restart_delay;  // ns
  std::optional<uint64_t> restart_max_attempts;
  std::optional<int64_t> restart_window;  // ns
  std::optional<uint64_t> update_parallelism;
  std::optional<int64_t> update_delay;    // ns
  std::optional<int64_t> update_monitor;  // ns
  std::optional<std::string> update_failure_action;
  std::optional<std::string> update_order;
  // Resources (resource_flags.h): NanoCPUs, bytes, a pids count; nullopt = flag not given.
  std::optional<int64_t> limit_cpu;
  std::optional<int64_t> limit_memory;
  std::optional<int64_t> limit_pids;
  std::optional<int64_t> reserve_cpu;
  std::optional<int64_t> reserve_memory;
  bool detach = false;
  bool quiet = false;
  // Capsule's live refresh (docs/secret-versions.md): secret name → "signal:SIG", "none", or
  // "" to remove (checked by the daemon; sent on the /capsule/services routes).
  std::map<std::string, std::string> secret_refresh;

  // create only
  std::string name;
  std::string mode = "replicated";
  std::string image;
  std::vector<std::string> args;  // CMD and ARGS after the image
  std::vector<std::string> labels;
  std::vector<std::string> container_labels;
  std::vector<std::string> constraints;

  // update only
  std::optional<std::string> new_image;  // --image
  std::vector<std::string> secret_rm;
  std::vector<std::string> env_rm;
  std::vector<std::string> label_add, label_rm;
  std::vector<std::string> container_label_add, container_label_rm;
  std::vector<std::string> constraint_add, constraint_rm;
  bool force = false;
};

// Fills the typed fields of `flags` from `raw`. Error text as docker prints a bad flag:
// `invalid argument "x" for "--replicas" flag: strconv.ParseUint: parsing "x": invalid syntax`
// followed by `See 'capsule <command_path> --help'.`
Status ParseServiceFlags(const RawServiceFlags& raw, const std::string& command_path,
                         const std::string& secret_flag, ServiceFlags* flags);

}  // namespace capsule::cli
