#include "manager/datakeys/rotation_state.h"

#include <nlohmann/json.hpp>

namespace capsule::datakeys {
namespace {

using Json = nlohmann::json;

Json ProgressJson(const ResealProgress& p) {
  Json j = {{"Target", p.target},         {"Retiring", p.retiring}, {"Phase", p.phase},
            {"Done", p.visited},          {"Resealed", p.resealed}, {"Total", p.total},
            {"Prefix", p.prefix},         {"After", p.after},       {"StartedAt", p.started_at},
            {"FinishedAt", p.finished_at}};
  if (!p.waiting_for.empty()) j["WaitingFor"] = p.waiting_for;
  return j;
}

StatusOr<ResealProgress> ProgressFrom(const Json& j) {
  if (!j.is_object()) return absl::DataLossError("data key rotation record: not an object");
  try {
    ResealProgress p;
    p.target = j.value("Target", 0u);
    p.retiring = j.value("Retiring", std::vector<uint32_t>{});
    p.phase = j.value("Phase", "");
    p.visited = j.value("Done", int64_t{0});
    p.resealed = j.value("Resealed", int64_t{0});
    p.total = j.value("Total", int64_t{0});
    p.prefix = j.value("Prefix", 0);
    p.after = j.value("After", "");
    p.started_at = j.value("StartedAt", "");
    p.finished_at = j.value("FinishedAt", "");
    p.waiting_for = j.value("WaitingFor", "");
    return p;
  } catch (const Json::exception& e) {
    return absl::DataLossError(std::string("data key rotation record: ") + e.what());
  }
}

}  // namespace

std::string EncodeProgress(const ResealProgress& p) { return ProgressJson(p).dump(); }

StatusOr<ResealProgress> DecodeProgress(const std::string& json) {
  return ProgressFrom(Json::parse(json, nullptr, /*allow_exceptions=*/false));
}

std::string EncodeState(const DataKeyState& s) {
  Json j = {{"CurrentKeyID", s.current},
            {"KeyIDs", s.key_ids},
            {"Rotation", s.rotation ? ProgressJson(*s.rotation) : Json(nullptr)},
            {"LastRotation", s.last ? ProgressJson(*s.last) : Json(nullptr)}};
  return j.dump();
}

StatusOr<DataKeyState> DecodeState(const std::string& json) {
  const Json j = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::DataLossError("data key state: not an object");
  DataKeyState s;
  try {
    s.current = j.value("CurrentKeyID", 0u);
    s.key_ids = j.value("KeyIDs", std::vector<uint32_t>{});
  } catch (const Json::exception& e) {
    return absl::DataLossError(std::string("data key state: ") + e.what());
  }
  if (auto it = j.find("Rotation"); it != j.end() && !it->is_null()) {
    ASSIGN_OR_RETURN(s.rotation, ProgressFrom(*it));
  }
  if (auto it = j.find("LastRotation"); it != j.end() && !it->is_null()) {
    ASSIGN_OR_RETURN(s.last, ProgressFrom(*it));
  }
  return s;
}

}  // namespace capsule::datakeys
