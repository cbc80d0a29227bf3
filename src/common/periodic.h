// A background loop that calls `tick` every `period` until Stop(): the first call one period
// after Start, the period measured on the injected clock's steady time (so tests drive it with
// a fake clock). Stop wakes the wait at once and joins the thread; a tick in progress finishes
// first. Start at most once; Stop is idempotent and the destructor calls it. The owner's own
// state is its own to lock: the loop holds no lock while `tick` runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/clock.h"

namespace capsule {

class Periodic {
 public:
  explicit Periodic(const Clock& clock) : clock_(clock) {}
  ~Periodic() { Stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void Start(std::chrono::milliseconds period, std::function<void()> tick);
  void Stop();

 private:
  const Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace capsule
