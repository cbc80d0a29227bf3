#include "manager/controlapi/secret_version_sweeper.h"

namespace capsule::controlapi {

void SecretVersionSweeper::Start(std::chrono::milliseconds period) {
  thread_ = std::thread([this, period] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period, [this] { return stop_; })) {
      lock.unlock();
      api_.SweepAll();
      lock.lock();
    }
  });
}

void SecretVersionSweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace capsule::controlapi
