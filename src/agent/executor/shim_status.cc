#include "agent/executor/shim_status.h"

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/executor/fs_util.h"

namespace capsule::agent {

Status WriteShimStatus(const std::string& path, const ShimStatus& s) {
  nlohmann::json j = {{"shim_pid", s.shim_pid},
                      {"shim_start_ticks", s.shim_start_ticks},
                      {"pid", s.pid},
                      {"started_ns", s.started_ns},
                      {"exited", s.exited},
                      {"exit_code", s.exit_code},
                      {"finished_ns", s.finished_ns}};
  if (!s.error.empty()) j["error"] = s.error;
  return WriteFileAtomic(path, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         0600);
}

StatusOr<ShimStatus> ReadShimStatus(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::DataLossError(absl::StrCat("unparsable status file ", path));
  ShimStatus s;
  try {
    s.shim_pid = j.value("shim_pid", int64_t{0});
    s.shim_start_ticks = j.value("shim_start_ticks", uint64_t{0});
    s.pid = j.value("pid", int64_t{0});
    s.started_ns = j.value("started_ns", int64_t{0});
    s.exited = j.value("exited", false);
    s.exit_code = j.value("exit_code", int64_t{0});
    s.finished_ns = j.value("finished_ns", int64_t{0});
    s.error = j.value("error", std::string());
  } catch (const nlohmann::json::exception&) {
    return absl::DataLossError(absl::StrCat("malformed status file ", path));
  }
  return s;
}

namespace {

// Field 3 (state) and field 22 (starttime) of /proc/<pid>/stat; the command name (field 2)
// may hold spaces and parentheses, so parsing starts after its last ')'.
bool ReadStat(int64_t pid, char* state, uint64_t* start_ticks) {
  if (pid <= 0) return false;
  auto text = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!text.ok()) return false;
  const size_t close = text->rfind(')');
  if (close == std::string::npos) return false;
  std::vector<std::string> fields = absl::StrSplit(text->substr(close + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state); field 22 is fields[19].
  if (fields.size() < 20 || fields[0].empty()) return false;
  *state = fields[0][0];
  return absl::SimpleAtoi(fields[19], start_ticks);
}

}  // namespace

uint64_t ProcessStartTicks(int64_t pid) {
  char state = 0;
  uint64_t ticks = 0;
  if (!ReadStat(pid, &state, &ticks)) return 0;
  return ticks;
}

bool ProcessAlive(int64_t pid, uint64_t start_ticks) {
  char state = 0;
  uint64_t ticks = 0;
  if (!ReadStat(pid, &state, &ticks)) return false;
  if (state == 'Z' || state == 'X') return false;
  return start_ticks == 0 || ticks == start_ticks;
}

}  // namespace capsule::agent
