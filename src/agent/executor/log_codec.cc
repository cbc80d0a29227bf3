#include "agent/executor/log_codec.h"

#include <nlohmann/json.hpp>

namespace capsule::agent {

std::string EncodeLogLine(const LogLine& line) {
  nlohmann::json j = {{"log", line.text},
                      {"stream", line.stream == 2 ? "stderr" : "stdout"},
                      {"time", FormatRfc3339Nano(line.time)}};
  std::string out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.push_back('\n');
  return out;
}

StatusOr<LogLine> DecodeLogLine(const std::string& record) {
  nlohmann::json j = nlohmann::json::parse(record, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::DataLossError("malformed log record");
  auto log = j.find("log");
  auto stream = j.find("stream");
  auto time = j.find("time");
  if (log == j.end() || !log->is_string() || stream == j.end() || !stream->is_string() ||
      time == j.end() || !time->is_string()) {
    return absl::DataLossError("malformed log record");
  }
  LogLine line;
  line.text = log->get<std::string>();
  line.stream = stream->get<std::string>() == "stderr" ? 2 : 1;
  if (!ParseRfc3339Nano(time->get<std::string>(), &line.time)) {
    return absl::DataLossError("malformed log record time");
  }
  return line;
}

}  // namespace capsule::agent
