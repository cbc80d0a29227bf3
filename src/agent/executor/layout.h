// Where the executor, the shim and the task logs keep a task's files. One place, so the three
// agree (the shim and TaskLogs run without the executor's object).
//   <exec-root>/tasks/<id>/            bundle (0700): config.json, rootfs (overlay mount point),
//                                      upper/, work/, pid (runc --pid-file), runc.log, status
//   <exec-root>/secrets/<id>           the task's secret tmpfs mount point (0700)
//   <exec-root>/runc                   runc --root
//   <data-root>/tasks/<id>/log         the task's log (0600; dir 0700)
#pragma once

#include <string>

#include "common/status.h"

namespace capsule::agent {

struct TaskPaths {
  std::string bundle;
  std::string config;
  std::string rootfs;
  std::string upper;
  std::string work;
  std::string pid_file;
  std::string runc_log;
  std::string status;
  std::string secrets;
  std::string log_dir;
  std::string log;
};

// Task IDs become path components and runc container IDs: 1-64 characters of [A-Za-z0-9_-]
// (Capsule's are 25 base-36 characters). Anything else → InvalidArgument.
Status ValidateTaskId(const std::string& task_id);

TaskPaths PathsFor(const std::string& exec_root, const std::string& data_root,
                   const std::string& task_id);

std::string TasksDir(const std::string& exec_root);
std::string SecretsDir(const std::string& exec_root);
std::string RuncRoot(const std::string& exec_root);
std::string LogsDir(const std::string& data_root);
std::string LogDirFor(const std::string& data_root, const std::string& task_id);
std::string LogFileFor(const std::string& data_root, const std::string& task_id);

}  // namespace capsule::agent
