#include "agent/executor/layout.h"

#include "absl/strings/str_cat.h"

namespace capsule::agent {

Status ValidateTaskId(const std::string& task_id) {
  bool ok = !task_id.empty() && task_id.size() <= 64;
  for (char c : task_id) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && c != '_' && c != '-') ok = false;
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("invalid task ID: ", task_id));
  return absl::OkStatus();
}

std::string TasksDir(const std::string& exec_root) { return exec_root + "/tasks"; }
std::string SecretsDir(const std::string& exec_root) { return exec_root + "/secrets"; }
std::string RuncRoot(const std::string& exec_root) { return exec_root + "/runc"; }
std::string LogsDir(const std::string& data_root) { return data_root + "/tasks"; }
std::string LogDirFor(const std::string& data_root, const std::string& task_id) {
  return absl::StrCat(LogsDir(data_root), "/", task_id);
}
std::string LogFileFor(const std::string& data_root, const std::string& task_id) {
  return LogDirFor(data_root, task_id) + "/log";
}

TaskPaths PathsFor(const std::string& exec_root, const std::string& data_root,
                   const std::string& task_id) {
  TaskPaths p;
  p.bundle = absl::StrCat(TasksDir(exec_root), "/", task_id);
  p.config = p.bundle + "/config.json";
  p.rootfs = p.bundle + "/rootfs";
  p.upper = p.bundle + "/upper";
  p.work = p.bundle + "/work";
  p.pid_file = p.bundle + "/pid";
  p.runc_log = p.bundle + "/runc.log";
  p.status = p.bundle + "/status";
  p.secrets = absl::StrCat(SecretsDir(exec_root), "/", task_id);
  p.log_dir = LogDirFor(data_root, task_id);
  p.log = LogFileFor(data_root, task_id);
  return p;
}

}  // namespace capsule::agent
