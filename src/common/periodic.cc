#include "common/periodic.h"

#include <utility>

namespace capsule {

void Periodic::Start(std::chrono::milliseconds period, std::function<void()> tick) {
  thread_ = std::thread([this, period, tick = std::move(tick)] {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      const SteadyTime next = clock_.SteadyNow() + period;
      if (clock_.WaitUntil(cv_, lock, next, [this] { return stop_; })) return;
      lock.unlock();
      tick();
      lock.lock();
    }
  });
}

void Periodic::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace capsule
