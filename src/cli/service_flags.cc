#include "cli/service_flags.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/context.h"
#include "cli/go_format.h"
#include "cli/resource_flags.h"

namespace capsule::cli {
namespace {

// Go's encoding/csv for one record: fields split at ',', double quotes group (and "" is a
// literal quote inside quotes).
StatusOr<std::vector<std::string>> CsvFields(const std::string& s) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) {
    return absl::InvalidArgumentError(absl::StrCat("parse error on line 1, column ", s.size() + 1,
                                                   ": extraneous or missing \" in quoted-field"));
  }
  return fields;
}

Status FlagError(const std::string& flag, const std::string& value, const Status& cause,
                 const std::string& command_path) {
  return absl::InvalidArgumentError(absl::StrCat("invalid argument \"", value, "\" for \"", flag,
                                                 "\" flag: ", cause.message(), "\nSee '",
                                                 kProgramName, " ", command_path, " --help'."));
}

}  // namespace

StatusOr<SecretFlag> ParseSecretFlag(const std::string& value) {
  ASSIGN_OR_RETURN(std::vector<std::string> fields, CsvFields(value));
  SecretFlag ref;
  if (fields.size() == 1 && fields[0].find('=') == std::string::npos) {
    ref.source = fields[0];
    ref.target = fields[0];
    return ref;
  }
  for (const std::string& field : fields) {
    const size_t eq = field.find('=');
    if (eq == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid field '", field, "' must be a key=value pair"));
    }
    const std::string key = absl::AsciiStrToLower(field.substr(0, eq));
    const std::string v = field.substr(eq + 1);
    if (key == "source" || key == "src") {
      ref.source = v;
    } else if (key == "target") {
      ref.target = v;
    } else if (key == "uid") {
      ref.uid = v;
    } else if (key == "gid") {
      ref.gid = v;
    } else if (key == "mode") {
      StatusOr<uint64_t> mode = ParseGoUint(v, 0, 32);
      if (!mode.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid mode specified: ", mode.status().message()));
      }
      ref.mode = static_cast<uint32_t>(*mode);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid field in secret request: ", key));
    }
  }
  if (ref.source.empty()) return absl::InvalidArgumentError("source is required");
  if (ref.target.empty()) ref.target = ref.source;
  return ref;
}

Status ParseServiceFlags(const RawServiceFlags& raw, const std::string& command_path,
                         const std::string& secret_flag, ServiceFlags* flags) {
  auto uint_flag = [&](const char* name, const std::optional<std::string>& v, int base,
                       std::optional<uint64_t>* out) -> Status {
    if (!v) return absl::OkStatus();
    StatusOr<uint64_t> n = ParseGoUint(*v, base);
    if (!n.ok()) return FlagError(name, *v, n.status(), command_path);
    *out = *n;
    return absl::OkStatus();
  };
  auto duration_flag = [&](const char* name, const std::optional<std::string>& v,
                           std::optional<int64_t>* out) -> Status {
    if (!v) return absl::OkStatus();
    StatusOr<int64_t> d = ParseGoDuration(*v);
    if (!d.ok()) return FlagError(name, *v, d.status(), command_path);
    *out = *d;
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(uint_flag("--replicas", raw.replicas, 0, &flags->replicas));
  RETURN_IF_ERROR(uint_flag("--restart-max-attempts", raw.restart_max_attempts, 0,
                            &flags->restart_max_attempts));
  RETURN_IF_ERROR(
      uint_flag("--update-parallelism", raw.update_parallelism, 0, &flags->update_parallelism));
  RETURN_IF_ERROR(duration_flag("--restart-delay", raw.restart_delay, &flags->restart_delay));
  RETURN_IF_ERROR(duration_flag("--restart-window", raw.restart_window, &flags->restart_window));
  RETURN_IF_ERROR(duration_flag("--update-delay", raw.update_delay, &flags->update_delay));
  RETURN_IF_ERROR(duration_flag("--update-monitor", raw.update_monitor, &flags->update_monitor));
  auto int_flag = [&](const char* name, const std::optional<std::string>& v,
                      StatusOr<int64_t> (*parse)(const std::string&),
                      std::optional<int64_t>* out) -> Status {
    if (!v) return absl::OkStatus();
    StatusOr<int64_t> n = parse(*v);
    if (!n.ok()) return FlagError(name, *v, n.status(), command_path);
    *out = *n;
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(int_flag("--limit-cpu", raw.limit_cpu, ParseNanoCpus, &flags->limit_cpu));
  RETURN_IF_ERROR(
      int_flag("--limit-memory", raw.limit_memory, ParseRamInBytes, &flags->limit_memory));
  RETURN_IF_ERROR(int_flag("--limit-pids", raw.limit_pids, ParseGoInt64, &flags->limit_pids));
  RETURN_IF_ERROR(int_flag("--reserve-cpu", raw.reserve_cpu, ParseNanoCpus, &flags->reserve_cpu));
  RETURN_IF_ERROR(
      int_flag("--reserve-memory", raw.reserve_memory, ParseRamInBytes, &flags->reserve_memory));
  for (const std::string& s : raw.secrets) {
    StatusOr<SecretFlag> ref = ParseSecretFlag(s);
    if (!ref.ok()) return FlagError(secret_flag, s, ref.status(), command_path);
    flags->secrets.push_back(*std::move(ref));
  }
  for (const std::string& s : raw.secret_refresh) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return FlagError("--secret-refresh", s,
                       absl::InvalidArgumentError(
                           "expected NAME=signal:SIG, NAME=none, or NAME= to remove the policy"),
                       command_path);
    }
    flags->secret_refresh[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return absl::OkStatus();
}

}  // namespace capsule::cli
