// An Executor that runs nothing, for agent tests and simulated nodes: tasks live in memory.
//   Prepare  records the run and each secret file's data (as a test reads it back: SecretData,
//            Get) and creates the task (container ID "c-<task>"); NotFound "No such image: x"
//            for an image marked missing (SetImageMissing). Prepare again starts the task over.
//   Start    the task runs (pid 4242, started_at from the clock); NotFound for an unknown task.
//   Stop     a running task exits with 143; NotFound for an unknown task.
//   Remove   forgets the task (idempotent); RemoveLogs only records the call.
//   RefreshSecret  (live refresh) replaces the recorded data of the file at the target, as
//            "refresh <task ID> <target> <signal>"; false when it was the same data;
//            FailedPrecondition for a task prepared without refresh_layout.
// Every call is recorded as "<call> <task ID>" (Called, calls). Exit() ends a task as if its
// process exited; Put() plants a task a previous agent left behind (Known lists it).
// Hooks observe Prepare (with the secrets' data) and Start after they succeed — a load
// simulator reports them. Thread-safe; hooks run on the caller's thread, outside the lock.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/executor/executor.h"
#include "common/clock.h"
#include "common/mutex.h"

namespace capsule::testing {

class FakeExecutor : public agent::Executor {
 public:
  struct Task {
    agent::RunStatus status;
    agent::TaskRun run;  // as Prepare saw it; run.secrets' data pointers are cleared
    std::map<std::string, std::string> secret_data;  // by target, as Prepare saw it
    bool stopped = false;
  };
  struct Hooks {
    std::function<void(const agent::TaskRun&)> prepared;  // secrets' data valid during the call
    std::function<void(const std::string& task_id)> started;
    // After a RefreshSecret that changed the file (its data valid during the call).
    std::function<void(const std::string& task_id, const agent::SecretFile& file, int signal)>
        refreshed;
  };

  // `clock` (timestamps) must outlive the executor.
  explicit FakeExecutor(const Clock& clock, Hooks hooks = {});

  Status Prepare(const agent::TaskRun& run) override;
  Status Start(const std::string& task_id) override;
  StatusOr<agent::RunStatus> Inspect(const std::string& task_id) const override;
  Status Stop(const std::string& task_id) override;
  Status Remove(const std::string& task_id) override;
  Status RemoveLogs(const std::string& task_id) override;
  std::vector<std::string> Known() const override;
  StatusOr<bool> RefreshSecret(const std::string& task_id, const agent::SecretFile& file,
                               int signal) override;

  // What the test controls.
  void SetImageMissing(const std::string& image);
  void Put(const std::string& task_id, agent::RunStatus status);
  void Exit(const std::string& task_id, int64_t exit_code);

  // What the test checks.
  bool Has(const std::string& task_id) const;
  std::optional<Task> Get(const std::string& task_id) const;
  // The data Prepare got for `target` of the task ("" if none).
  std::string SecretData(const std::string& task_id, const std::string& target) const;
  bool Called(const std::string& call) const;  // e.g. Called("stop t1")
  std::vector<std::string> calls() const;

 private:
  const Clock& clock_;
  const Hooks hooks_;
  mutable Mutex mu_;
  std::set<std::string> missing_images_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Task> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace capsule::testing
