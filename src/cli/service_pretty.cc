#include "cli/service_pretty.h"

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/go_format.h"
#include "cli/human_duration.h"
#include "cli/json_fields.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

const Json& At(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

int64_t IntAt(const Json& j, const char* key) {
  const Json& v = At(j, key);
  return v.is_number() ? v.get<int64_t>() : 0;
}

std::string Number(const Json& v) {
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return absl::StrCat(v.get<double>());
  return "0";
}

std::string Ago(const Clock& clock, const std::string& rfc3339) {
  TimePoint t;
  if (!ParseRfc3339Nano(rfc3339, &t)) return rfc3339;
  return absl::StrCat(HumanDuration(clock.Now() - t), " ago");
}

void UpdateConfigBlock(std::string& out, const Json& c, const char* title, const char* order) {
  absl::StrAppend(&out, "\n", title, ":\n Parallelism:\t", IntAt(c, "Parallelism"));
  if (IntAt(c, "Delay") > 0)
    absl::StrAppend(&out, "\n Delay:\t\t", FormatGoDuration(IntAt(c, "Delay")));
  absl::StrAppend(&out, "\n On failure:\t", StringAt(c, {"FailureAction"}));
  if (IntAt(c, "Monitor") > 0) {
    absl::StrAppend(&out, "\n Monitoring Period: ", FormatGoDuration(IntAt(c, "Monitor")));
  }
  absl::StrAppend(&out, "\n Max failure ratio: ", Number(At(c, "MaxFailureRatio")), "\n ", order,
                  StringAt(c, {"Order"}));
}

// go-units BytesSize: "%.4g" of the size in powers of 1024 ("64MiB", "1.5GiB").
std::string BytesSize(double size) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t i = 0;
  while (size >= 1024 && i + 1 < std::size(kUnits)) {
    size /= 1024;
    ++i;
  }
  char buf[64];
  snprintf(buf, sizeof(buf), "%.4g%s", size, kUnits[i]);
  return buf;
}

// A float64 as Go's template prints it (%v: shortest digits): "1.5", "0.25", "2".
std::string GoFloat(double v) {
  char buf[64];
  for (int digits = 1; digits <= 17; ++digits) {
    snprintf(buf, sizeof(buf), "%.*g", digits, v);
    if (strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// docker's service inspect --pretty Resources block (Reservations, then Limits; a part is
// shown when one of its values is set).
void ResourcesBlock(std::string& out, const Json& resources) {
  out += "\nResources:";
  const Json& reservations = At(resources, "Reservations");
  const int64_t rcpu = IntAt(reservations, "NanoCPUs"), rmem = IntAt(reservations, "MemoryBytes");
  if (rcpu > 0 || rmem > 0) {
    out += "\n Reservations:";
    if (rcpu > 0) absl::StrAppend(&out, "\n  CPU:\t\t", GoFloat(static_cast<double>(rcpu) / 1e9));
    if (rmem > 0) absl::StrAppend(&out, "\n  Memory:\t", BytesSize(static_cast<double>(rmem)));
  }
  const Json& limits = At(resources, "Limits");
  const int64_t lcpu = IntAt(limits, "NanoCPUs"), lmem = IntAt(limits, "MemoryBytes"),
                lpids = IntAt(limits, "Pids");
  if (lcpu > 0 || lmem > 0 || lpids > 0) {
    out += "\n Limits:";
    if (lcpu > 0) absl::StrAppend(&out, "\n  CPU:\t\t", GoFloat(static_cast<double>(lcpu) / 1e9));
    if (lmem > 0) absl::StrAppend(&out, "\n  Memory:\t", BytesSize(static_cast<double>(lmem)));
    if (lpids > 0) absl::StrAppend(&out, "\n  PIDs:\t\t", lpids);
  }
}

std::string Words(const Json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const Json& v : list) {
    if (v.is_string()) absl::StrAppend(&out, v.get<std::string>(), " ");
  }
  return out;
}

}  // namespace

std::string PrettyService(const std::string& raw, const Clock& clock) {
  const Json s = Json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (!s.is_object()) return "";
  const Json& spec = At(s, "Spec");
  const Json& task = At(spec, "TaskTemplate");
  const Json& container = At(task, "ContainerSpec");
  std::string out =
      absl::StrCat("\nID:\t\t", StringAt(s, {"ID"}), "\nName:\t\t", StringAt(spec, {"Name"}));
  const Json& labels = At(spec, "Labels");
  if (labels.is_object() && !labels.empty()) {
    out += "\nLabels:";
    for (const auto& [k, v] : labels.items()) {  // nlohmann::json keeps keys sorted, as Go
      const std::string value = v.is_string() ? v.get<std::string>() : "";
      absl::StrAppend(&out, "\n ", k, value.empty() ? "" : "=" + value);
    }
  }
  out += "\nService Mode:";
  const Json& mode = At(spec, "Mode");
  if (!At(mode, "Global").is_null()) {
    out += "\tGlobal";
  } else if (!At(mode, "Replicated").is_null()) {
    out += "\tReplicated";
    const Json& replicas = At(At(mode, "Replicated"), "Replicas");
    if (replicas.is_number()) absl::StrAppend(&out, "\n Replicas:\t", Number(replicas));
  }
  const Json& update_status = At(s, "UpdateStatus");
  const std::string state = StringAt(update_status, {"State"});
  if (!state.empty()) {
    absl::StrAppend(&out, "\nUpdateStatus:\n State:\t\t", state);
    const std::string started = StringAt(update_status, {"StartedAt"});
    if (!started.empty()) absl::StrAppend(&out, "\n Started:\t", Ago(clock, started));
    const std::string completed = StringAt(update_status, {"CompletedAt"});
    if (state == "completed" && !completed.empty()) {
      absl::StrAppend(&out, "\n Completed:\t", Ago(clock, completed));
    }
    absl::StrAppend(&out, "\n Message:\t", StringAt(update_status, {"Message"}));
  }
  out += "\nPlacement:";
  const Json& placement = At(task, "Placement");
  const Json& constraints = At(placement, "Constraints");
  if (constraints.is_array() && !constraints.empty()) {
    std::vector<std::string> cs;
    for (const Json& c : constraints) cs.push_back(c.is_string() ? c.get<std::string>() : "");
    absl::StrAppend(&out, "\n Constraints:\t[", absl::StrJoin(cs, " "), "]");
  }
  if (IntAt(placement, "MaxReplicas") > 0) {
    absl::StrAppend(&out, "\n Max Replicas Per Node:   ", IntAt(placement, "MaxReplicas"));
  }
  if (At(spec, "UpdateConfig").is_object()) {
    UpdateConfigBlock(out, At(spec, "UpdateConfig"), "UpdateConfig", "Update order:      ");
  }
  if (At(spec, "RollbackConfig").is_object()) {
    UpdateConfigBlock(out, At(spec, "RollbackConfig"), "RollbackConfig", "Rollback order:    ");
  }
  absl::StrAppend(&out, "\nContainerSpec:\n Image:\t\t", StringAt(container, {"Image"}));
  if (At(container, "Args").is_array() && !At(container, "Args").empty()) {
    absl::StrAppend(&out, "\n Args:\t\t", Words(At(container, "Args")));
  }
  if (At(container, "Env").is_array() && !At(container, "Env").empty()) {
    absl::StrAppend(&out, "\n Env:\t\t", Words(At(container, "Env")));
  }
  const std::string dir = StringAt(container, {"Dir"});
  if (!dir.empty()) absl::StrAppend(&out, "\n Dir:\t\t", dir);
  if (At(container, "Init").is_boolean()) {
    absl::StrAppend(&out, "\n Init:\t\t", At(container, "Init").get<bool>() ? "true" : "false");
  }
  const std::string user = StringAt(container, {"User"});
  if (!user.empty()) absl::StrAppend(&out, "\n User: ", user);
  const Json& secrets = At(container, "Secrets");
  if (secrets.is_array() && !secrets.empty()) {
    out += "\nSecrets:";
    for (const Json& ref : secrets) {
      const std::string name = StringAt(ref, {"SecretName"});
      absl::StrAppend(&out, "\n Target:\t", StringAt(ref, {"File", "Name"}), "\n  Source:\t", name);
      const Json& policy = At(At(s, kRefreshField), name.c_str());
      if (policy.is_string()) absl::StrAppend(&out, "\n  Refresh:\t", policy.get<std::string>());
    }
  }
  if (At(task, "Resources").is_object()) ResourcesBlock(out, At(task, "Resources"));
  absl::StrAppend(&out, "\nEndpoint Mode:\t", StringAt(spec, {"EndpointSpec", "Mode"}), "\n\n");
  return out;
}

}  // namespace capsule::cli
