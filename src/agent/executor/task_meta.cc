#include "agent/executor/task_meta.h"

#include <nlohmann/json.hpp>

#include "agent/executor/fs_util.h"

namespace capsule::agent {
namespace {

std::string MetaPath(const TaskPaths& p) { return p.bundle + "/meta.json"; }

}  // namespace

Status WriteTaskMeta(const TaskPaths& p, const TaskRun& run, const std::string& image_id) {
  nlohmann::json j = {{"task_id", run.task_id},
                      {"service_id", run.service_id},
                      {"service_name", run.service_name},
                      {"node_id", run.node_id},
                      {"slot", run.slot},
                      {"image", run.image},
                      {"image_id", image_id},
                      {"stop_grace_period_ns", run.stop_grace_period.count()}};
  return WriteFileAtomic(MetaPath(p),
                         j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 0600);
}

TaskMeta ReadTaskMeta(const TaskPaths& p) {
  TaskMeta meta;
  auto text = ReadFile(MetaPath(p));
  if (!text.ok()) return meta;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_object() && j.contains("stop_grace_period_ns") &&
      j["stop_grace_period_ns"].is_number_integer()) {
    meta.stop_grace_period = std::chrono::nanoseconds(j["stop_grace_period_ns"].get<int64_t>());
  }
  for (const char* key : {"image_id", "image"}) {
    if (j.is_object() && j.contains(key) && j[key].is_string() && !j[key].empty()) {
      meta.image = j[key].get<std::string>();
      break;
    }
  }
  return meta;
}

}  // namespace capsule::agent
