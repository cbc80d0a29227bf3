// Leader work: finishes a data-key rotation (docs/data-key-rotation.md). While the keyring in
// etcd holds more than one key, the leader
//   1. activates a staged key that a crash left unactivated (DataKeyRotation::Begin);
//   2. re-seals every value under keyspaces.h's kSealedPrefixes that is not under the active
//      key, in key order, recording a resume cursor and counts in /capsule/v1/keys/rotation
//      (so a new leader, or this one after a restart, resumes where it stopped);
//   3. waits until every manager has loaded the keyring with the active key (their
//      /capsule/v1/keys/loaded/ records), then `settle` for writes they sealed just before;
//   4. scans everything again: a value still under a retiring key (a manager sealed it before
//      it loaded the new keyring) is re-sealed, and only a scan that finds none lets
//   5. the retiring keys leave the keyring (compare-and-swap on its mod_revision); each
//      manager's KeyringSync then wipes them from its memory.
// Each re-seal is one Txn: compare the value's mod_revision (and the leader fence), put the
// value sealed under the active key. A failed compare means a client wrote meanwhile: its
// value wins; it is read again and re-sealed only if it is still under a retiring key.
// Every write carries the fence (store/fence.h): after a lost leadership nothing is written.
// Start/Stop from one thread; Stop joins the worker. `client`, `keyring`, `sync` and `kek`
// must outlive it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/keyring.h"
#include "manager/datakeys/keyring_sync.h"
#include "manager/datakeys/rotation_state.h"
#include "store/etcd/etcd_client.h"
#include "store/fence.h"

namespace capsule::datakeys {

struct ResealerOptions {
  std::chrono::milliseconds period{500};  // how often the worker looks for a rotation
  size_t read_batch = 32;                 // values read per Txn (etcd allows 128 ops)
  // How long one try waits for every manager to load the new keyring (then it tries again).
  std::chrono::milliseconds ack_timeout{30000};
  // After every manager loaded it: a write a manager sealed under the old key just before
  // it loaded the new keyring is still in flight; the verifying scan starts after this.
  std::chrono::milliseconds settle{2000};
  // Tests: the pass stops (Cancelled, as a crash would) after this many re-seal writes;
  // 0 = never.
  int64_t interrupt_after = 0;
  // Tests: runs just before each re-seal write (with the value's key), and when the work
  // enters a phase ("waiting-for-managers", "verifying", "done").
  std::function<void(const std::string& key)> before_write;
  std::function<void(const std::string& phase)> on_phase;
};

class Resealer {
 public:
  // The managers (node IDs) that must load the new keyring before an old key is destroyed:
  // every voting etcd member.
  using ManagersFn = std::function<StatusOr<std::vector<std::string>>()>;

  Resealer(etcd::Client& client, crypto::Keyring& keyring, KeyringSync& sync,
           const SecretBytes& kek, const store::Fence& fence, ManagersFn managers,
           const Clock& clock, ResealerOptions options = {});
  ~Resealer();

  void Start();
  void Stop();

  // The whole work once, on the caller's thread (steps 1-5 above). OK when there is nothing
  // to do or the rotation finished; Unavailable while some manager has not loaded the new
  // keyring; FailedPrecondition store::kNotLeaderMessage once the fence fails.
  Status RunOnce();

 private:
  // Re-seals what is not under `active`, from p's cursor on, updating p (recorded every
  // batch when `record`). Returns how many values it found under another key.
  StatusOr<int64_t> Scan(uint32_t active, ResealProgress* p, bool record);
  // One value; adds to *found / p->resealed.
  Status Reseal(etcd::KeyValue kv, uint32_t active, int64_t* found, ResealProgress* p);
  Status WaitForManagers(int64_t keyring_revision, ResealProgress* p);
  StatusOr<int64_t> CountSealed();
  Status Record(const ResealProgress& p);
  StatusOr<std::optional<ResealProgress>> Recorded();
  bool Stopping();

  etcd::Client& client_;
  crypto::Keyring& keyring_;
  KeyringSync& sync_;
  const SecretBytes& kek_;
  const etcd::Compare fence_;
  const ManagersFn managers_;
  const Clock& clock_;
  const ResealerOptions options_;
  int64_t writes_ = 0;      // re-seal writes (for interrupt_after)
  std::string last_phase_;  // for on_phase
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace capsule::datakeys
