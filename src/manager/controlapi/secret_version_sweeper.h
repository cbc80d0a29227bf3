// Leader work: wipes the secret versions that fell out of the window once no task uses them
// any more (SecretVersionApi::SweepAll, every `period`). Rotation and rollback sweep at once,
// but the tasks of the old version are still running then; this pass catches them once the
// rolling update has replaced them. Runs on the leader only, writing through its fenced store.
// Start/Stop from one thread; Stop joins the sweeping thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "manager/controlapi/secret_versions.h"

namespace capsule::controlapi {

class SecretVersionSweeper {
 public:
  // All three must outlive the sweeper.
  SecretVersionSweeper(store::Store& store, const store::ReadModel& reads, const Clock& clock)
      : api_(store, reads, clock) {}
  ~SecretVersionSweeper() { Stop(); }

  void Start(std::chrono::milliseconds period);
  void Stop();

 private:
  SecretVersionApi api_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace capsule::controlapi
