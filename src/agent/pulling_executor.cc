#include "agent/pulling_executor.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <mutex>

namespace capsule::agent {
namespace {

// Equal credentials (both absent counts as equal), compared in constant time.
bool SameAuth(const SecretBytes& a, const SecretBytes* b) {
  const std::string_view bv = b == nullptr ? std::string_view() : b->view();
  const std::string_view av = a.view();
  if (av.size() != bv.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < av.size(); ++i) {
    diff |= static_cast<unsigned char>(av[i] ^ bv[i]);
  }
  return diff == 0;
}

class PullingExecutor final : public Executor {
 public:
  PullingExecutor(std::unique_ptr<Executor> inner, ImageFetcher& fetcher)
      : inner_(std::move(inner)), fetcher_(fetcher) {}

  Status Prepare(const TaskRun& run) override {
    EnsureImage(run);
    return inner_->Prepare(run);
  }
  Status Start(const std::string& task_id) override { return inner_->Start(task_id); }
  StatusOr<RunStatus> Inspect(const std::string& task_id) const override {
    return inner_->Inspect(task_id);
  }
  Status Stop(const std::string& task_id) override { return inner_->Stop(task_id); }
  Status Remove(const std::string& task_id) override { return inner_->Remove(task_id); }
  Status RemoveLogs(const std::string& task_id) override { return inner_->RemoveLogs(task_id); }
  std::vector<std::string> Known() const override { return inner_->Known(); }
  StatusOr<std::string> ImageOf(const std::string& task_id) const override {
    return inner_->ImageOf(task_id);
  }
  StatusOr<bool> RefreshSecret(const std::string& task_id, const SecretFile& file,
                               int signal) override {
    return inner_->RefreshSecret(task_id, file, signal);
  }

 private:
  // One pull under way (or just finished) of an image.
  struct Flight {
    SecretBytes auth;  // the credentials it pulls with (a copy, wiped with the flight)
    bool done = false;
    Status result;
  };

  // Pulls run.image when the store lacks it; a failure is only logged (see the header).
  void EnsureImage(const TaskRun& run) {
    if (fetcher_.Has(run.image)) return;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto it = flights_.find(run.image);
      if (it == flights_.end()) break;
      std::shared_ptr<Flight> flight = it->second;
      cv_.wait(lock, [&flight] { return flight->done; });
      if (flight->result.ok() || SameAuth(flight->auth, run.registry_auth)) return;
      // Tried with other credentials than ours: our own attempt (unless one started).
    }
    auto flight = std::make_shared<Flight>();
    if (run.registry_auth != nullptr)
      flight->auth = SecretBytes::CopyFrom(run.registry_auth->view());
    flights_[run.image] = flight;
    lock.unlock();

    spdlog::info("task {}: pulling image {}{}", run.task_id, run.image,
                 run.registry_auth != nullptr && !run.registry_auth->empty()
                     ? " with the service's registry credentials"
                     : "");
    Status pulled = fetcher_.Pull(run.image, run.registry_auth);
    if (!pulled.ok()) {
      // As swarmkit's controller: logged, then the create below fails if the image is absent.
      spdlog::error("task {}: pulling image {} failed: {}", run.task_id, run.image,
                    std::string(pulled.message()));
    }

    lock.lock();
    flight->done = true;
    flight->result = pulled;
    auto it = flights_.find(run.image);
    if (it != flights_.end() && it->second == flight) flights_.erase(it);
    cv_.notify_all();
  }

  const std::unique_ptr<Executor> inner_;
  ImageFetcher& fetcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Flight>> flights_;  // image → its pull under way
};

}  // namespace

std::unique_ptr<Executor> NewPullingExecutor(std::unique_ptr<Executor> inner,
                                             ImageFetcher& fetcher) {
  return std::make_unique<PullingExecutor>(std::move(inner), fetcher);
}

}  // namespace capsule::agent
