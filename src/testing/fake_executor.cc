#include "testing/fake_executor.h"

#include <algorithm>

namespace capsule::testing {

using agent::RunStatus;

FakeExecutor::FakeExecutor(const Clock& clock, Hooks hooks)
    : clock_(clock), hooks_(std::move(hooks)) {}

Status FakeExecutor::Prepare(const agent::TaskRun& run) {
  {
    MutexLock lock(mu_);
    if (missing_images_.count(run.image) > 0) {
      return absl::NotFoundError("No such image: " + run.image);
    }
    Task t;
    t.run = run;
    for (agent::SecretFile& f : t.run.secrets) {
      if (f.data != nullptr) t.secret_data[f.target] = std::string(f.data->view());
      f.data = nullptr;  // only valid during Prepare
    }
    t.status.container_id = "c-" + run.task_id;
    tasks_[run.task_id] = std::move(t);
    calls_.push_back("prepare " + run.task_id);
  }
  if (hooks_.prepared) hooks_.prepared(run);
  return absl::OkStatus();
}

Status FakeExecutor::Start(const std::string& task_id) {
  {
    MutexLock lock(mu_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return absl::NotFoundError("no task " + task_id);
    it->second.status.state = RunStatus::State::kRunning;
    it->second.status.pid = 4242;
    it->second.status.started_at = clock_.Now();
    calls_.push_back("start " + task_id);
  }
  if (hooks_.started) hooks_.started(task_id);
  return absl::OkStatus();
}

StatusOr<bool> FakeExecutor::RefreshSecret(const std::string& task_id,
                                           const agent::SecretFile& file, int signal) {
  {
    MutexLock lock(mu_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return absl::NotFoundError("no task " + task_id);
    if (!it->second.run.refresh_layout) {
      return absl::FailedPreconditionError("task " + task_id + " is not laid out for refresh");
    }
    std::string& have = it->second.secret_data[file.target];
    if (have == file.data->view()) return false;
    have = std::string(file.data->view());
    calls_.push_back("refresh " + task_id + " " + file.target + " " + std::to_string(signal));
  }
  if (hooks_.refreshed) hooks_.refreshed(task_id, file, signal);
  return true;
}

StatusOr<RunStatus> FakeExecutor::Inspect(const std::string& task_id) const {
  MutexLock lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return absl::NotFoundError("no task " + task_id);
  return it->second.status;
}

Status FakeExecutor::Stop(const std::string& task_id) {
  MutexLock lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return absl::NotFoundError("no task " + task_id);
  RunStatus& st = it->second.status;
  if (st.state == RunStatus::State::kRunning) {
    st.state = RunStatus::State::kExited;
    st.exit_code = 143;
    st.finished_at = clock_.Now();
  }
  it->second.stopped = true;
  calls_.push_back("stop " + task_id);
  return absl::OkStatus();
}

Status FakeExecutor::Remove(const std::string& task_id) {
  MutexLock lock(mu_);
  if (tasks_.erase(task_id) > 0) calls_.push_back("remove " + task_id);
  return absl::OkStatus();
}

Status FakeExecutor::RemoveLogs(const std::string& task_id) {
  MutexLock lock(mu_);
  calls_.push_back("removelogs " + task_id);
  return absl::OkStatus();
}

std::vector<std::string> FakeExecutor::Known() const {
  MutexLock lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, t] : tasks_) ids.push_back(id);
  return ids;
}

void FakeExecutor::SetImageMissing(const std::string& image) {
  MutexLock lock(mu_);
  missing_images_.insert(image);
}

void FakeExecutor::Put(const std::string& task_id, RunStatus status) {
  MutexLock lock(mu_);
  tasks_[task_id] = Task{};
  tasks_[task_id].status = std::move(status);
}

void FakeExecutor::Exit(const std::string& task_id, int64_t exit_code) {
  MutexLock lock(mu_);
  RunStatus& st = tasks_[task_id].status;
  st.state = RunStatus::State::kExited;
  st.exit_code = exit_code;
  st.finished_at = clock_.Now();
}

bool FakeExecutor::Has(const std::string& task_id) const {
  MutexLock lock(mu_);
  return tasks_.count(task_id) > 0;
}

std::optional<FakeExecutor::Task> FakeExecutor::Get(const std::string& task_id) const {
  MutexLock lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return std::nullopt;
  return it->second;
}

std::string FakeExecutor::SecretData(const std::string& task_id, const std::string& target) const {
  MutexLock lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return "";
  auto data = it->second.secret_data.find(target);
  return data == it->second.secret_data.end() ? "" : data->second;
}

bool FakeExecutor::Called(const std::string& call) const {
  MutexLock lock(mu_);
  return std::find(calls_.begin(), calls_.end(), call) != calls_.end();
}

std::vector<std::string> FakeExecutor::calls() const {
  MutexLock lock(mu_);
  return calls_;
}

}  // namespace capsule::testing
