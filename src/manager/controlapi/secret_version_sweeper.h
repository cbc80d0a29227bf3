// Leader work for secret versions (docs/secret-versions.md), through the leader's fenced store:
//  - finishes a rotation or rollback whose intent (secretpins/<secret ID>) was already there,
//    at the same revision, one pass earlier — its caller crashed or failed mid-way
//    (SecretVersionApi::CompletePending; finishing twice is harmless, the wait only spares a
//    live caller's work). Every min(period, 1 s) for the secrets some service does not pin
//    at their current version (cheap, from the read model); every `period` for every intent
//    in the store (a listing: also intents left with everything pinned, or stale ones).
//  - wipes the versions that fell out of the window once no task uses them any more
//    (SecretVersionApi::SweepAll, every `period`). Rotation and rollback sweep at once, but the
//    tasks of the old version are still running then; this pass catches them once the rolling
//    update has replaced them.
//  - deletes version objects no secret lists (SecretVersionApi::SweepOrphanVersions): at the
//    first sweep and every kOrphanSweepEvery-th after it (a listing).
// Start/Stop from one thread; Stop joins the sweeping thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/periodic.h"
#include "manager/controlapi/secret_versions.h"

namespace capsule::controlapi {

class SecretVersionSweeper {
 public:
  static constexpr int kOrphanSweepEvery = 6;

  // All three must outlive the sweeper.
  SecretVersionSweeper(store::Store& store, const store::ReadModel& reads, const Clock& clock)
      : api_(store, reads, clock), loop_(clock) {}
  ~SecretVersionSweeper() { Stop(); }

  void Start(std::chrono::milliseconds period);
  void Stop();

  // One resume pass (`all`: over every intent in the store): finishes each intent that `seen`
  // (the intents found by the pass before, secret ID → revision) already held at the same
  // revision; `seen` becomes this pass's.
  void ResumeStalled(std::map<std::string, int64_t>& seen, bool all);

 private:
  SecretVersionApi api_;
  Periodic loop_;
};

}  // namespace capsule::controlapi
