// Waiting for an effect on a thread the test does not step: gRPC's, a real process's, a
// component that runs on the real clock. Code that waits through an injected Clock is stepped
// with FakeClock instead (fake_clock.h), which needs no polling. Header-only, so any test can
// use it without linking capsule_testing.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace capsule::testing {

// Calls pred every `interval` (real time) until it returns true or `timeout` has passed;
// returns pred()'s last value. Blocks the calling thread.
inline bool Eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(15),
                       std::chrono::milliseconds interval = std::chrono::milliseconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(interval);
  }
  return true;
}

}  // namespace capsule::testing
