// A simulated node's executor for load tests: runs no containers. Tasks are kept in memory and
// "run" until stopped; every secret file handed to Prepare (opened by the real agent with the
// session's delivery key) is reported as one event, with a sha256 prefix of its data (never the
// data) so a driver can check the right bytes arrived. Events go to an EventSink as JSON lines.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "agent/executor/executor.h"

namespace capsule::loadsim {

// Writes one JSON object per line to stdout, whole lines only (shared by every node).
class EventSink {
 public:
  // {"node":N,"event":E,<fields>,"t_ms":<wall clock ms since the epoch>}; `fields` is a
  // pre-rendered `"k":v,...` fragment (may be empty).
  void Emit(int node, const std::string& event, const std::string& fields);

 private:
  std::mutex mu_;
};

class SimExecutor final : public agent::Executor {
 public:
  SimExecutor(int node, EventSink& events) : node_(node), events_(events) {}

  Status Prepare(const agent::TaskRun& run) override;
  Status Start(const std::string& task_id) override;
  StatusOr<agent::RunStatus> Inspect(const std::string& task_id) const override;
  Status Stop(const std::string& task_id) override;
  Status Remove(const std::string& task_id) override;
  Status RemoveLogs(const std::string&) override { return absl::OkStatus(); }
  std::vector<std::string> Known() const override;

 private:
  const int node_;
  EventSink& events_;
  mutable std::mutex mu_;
  std::map<std::string, agent::RunStatus> tasks_;  // guarded by mu_
};

}  // namespace capsule::loadsim
