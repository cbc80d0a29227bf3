#include "audit/event.h"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace capsule::audit {
namespace {

using Json = nlohmann::json;

constexpr std::string_view kNames[] = {"create", "remove", "rotate", "rollback", "deliver"};
constexpr Action kActions[] = {Action::kCreate, Action::kRemove, Action::kRotate, Action::kRollback,
                               Action::kDeliver};

std::string NanosField(int64_t ns) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%020" PRId64, ns < 0 ? int64_t{0} : ns);
  return buf;
}

}  // namespace

std::string_view ActionName(Action action) { return kNames[static_cast<int>(action)]; }

StatusOr<Action> ParseAction(std::string_view name) {
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (kNames[i] == name) return kActions[i];
  }
  return absl::InvalidArgumentError("unknown audit action: " + std::string(name));
}

int64_t UnixNanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

std::string EncodeEvent(const Event& e) {
  Json j = {{"Time", FormatRfc3339Nano(e.time)},
            {"Action", std::string(ActionName(e.action))},
            {"SecretID", e.secret_id},
            {"SecretName", e.secret_name},
            {"Version", e.version}};
  if (e.caller)
    j["Caller"] = {{"UID", e.caller->uid}, {"GID", e.caller->gid}, {"PID", e.caller->pid}};
  if (!e.node_id.empty()) j["NodeID"] = e.node_id;
  j["RecordedBy"] = e.recorded_by;
  return j.dump();
}

StatusOr<Event> DecodeEvent(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto bad = [] { return absl::DataLossError("malformed audit event"); };
  if (!j.is_object()) return bad();
  try {
    Event e;
    if (!ParseRfc3339Nano(j.at("Time").get<std::string>(), &e.time)) return bad();
    StatusOr<Action> action = ParseAction(j.at("Action").get<std::string>());
    if (!action.ok()) return bad();
    e.action = *action;
    e.secret_id = j.at("SecretID").get<std::string>();
    e.secret_name = j.at("SecretName").get<std::string>();
    e.version = j.at("Version").get<int64_t>();
    if (j.contains("Caller")) {
      const Json& c = j["Caller"];
      e.caller = Caller{c.at("UID").get<uint32_t>(), c.at("GID").get<uint32_t>(),
                        c.at("PID").get<int32_t>()};
    }
    e.node_id = j.value("NodeID", "");
    e.recorded_by = j.value("RecordedBy", "");
    return e;
  } catch (const Json::exception&) {
    return bad();
  }
}

std::string EventKey(int64_t unix_nanos, std::string_view writer, uint64_t seq) {
  char seq_buf[24];
  std::snprintf(seq_buf, sizeof(seq_buf), "%010" PRIu64, seq);
  std::string key = NanosField(unix_nanos);
  key.append("-").append(writer).append("-").append(seq_buf);
  return key;
}

std::string KeyAtOrAfter(TimePoint t) { return NanosField(UnixNanos(t)); }

}  // namespace capsule::audit
