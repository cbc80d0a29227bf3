#include "sim_executor.h"

#include <openssl/evp.h>

#include <chrono>
#include <cstdio>

namespace capsule::loadsim {
namespace {

std::string Sha256Prefix(const SecretBytes& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const std::string_view v = data.view();
  if (EVP_Digest(v.data(), v.size(), md, &len, EVP_sha256(), nullptr) != 1) return "error";
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8 && i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

// IDs are [a-z0-9]; anything else is dropped so the line stays valid JSON.
std::string Plain(const std::string& s) {
  std::string out;
  for (char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.')
      out.push_back(c);
  }
  return out;
}

}  // namespace

void EventSink::Emit(int node, const std::string& event, const std::string& fields) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::lock_guard<std::mutex> lock(mu_);
  std::printf("{\"node\":%d,\"event\":\"%s\",%s%s\"t_ms\":%lld}\n", node, event.c_str(),
              fields.c_str(), fields.empty() ? "" : ",", static_cast<long long>(ms));
  std::fflush(stdout);
}

Status SimExecutor::Prepare(const agent::TaskRun& run) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    agent::RunStatus& st = tasks_[run.task_id];
    st = {};
    st.container_id = "sim-" + run.task_id;
  }
  for (const agent::SecretFile& f : run.secrets) {
    if (f.data == nullptr) continue;
    events_.Emit(node_, "secret",
                 "\"id\":\"" + Plain(f.secret_id) + "\",\"task\":\"" + Plain(run.task_id) +
                     "\",\"service\":\"" + Plain(run.service_name) + "\",\"sha\":\"" +
                     Sha256Prefix(*f.data) + "\"");
  }
  return absl::OkStatus();
}

Status SimExecutor::Start(const std::string& task_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tasks_.find(task_id);
    if (it == tasks_.end()) return absl::NotFoundError("no task " + task_id);
    it->second.state = agent::RunStatus::State::kRunning;
    it->second.pid = 1;
    it->second.started_at = std::chrono::system_clock::now();
  }
  events_.Emit(node_, "start", "\"task\":\"" + Plain(task_id) + "\"");
  return absl::OkStatus();
}

StatusOr<agent::RunStatus> SimExecutor::Inspect(const std::string& task_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return absl::NotFoundError("no task " + task_id);
  return it->second;
}

Status SimExecutor::Stop(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(task_id);
  if (it == tasks_.end()) return absl::OkStatus();
  if (it->second.state == agent::RunStatus::State::kRunning) {
    it->second.state = agent::RunStatus::State::kExited;
    it->second.exit_code = 143;
    it->second.finished_at = std::chrono::system_clock::now();
  }
  return absl::OkStatus();
}

Status SimExecutor::Remove(const std::string& task_id) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_.erase(task_id);
  return absl::OkStatus();
}

std::vector<std::string> SimExecutor::Known() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, st] : tasks_) ids.push_back(id);
  return ids;
}

}  // namespace capsule::loadsim
