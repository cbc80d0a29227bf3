// Keeps one manager's in-memory keyring equal to the one in etcd (/capsule/v1/keys/keyring),
// so that every manager opens values sealed under a data key another manager staged or
// activated, seals with the active key as soon as it is active, and wipes a retired key as
// soon as it left the keyring (docs/data-key-rotation.md).
//
//   - a watch on the keyring key: each change is read back, unwrapped with the KEK and
//     adopted (crypto::Keyring::Adopt wipes the keys that left);
//   - the keyring's miss handler: a value naming an unknown key id makes Open reload once;
//   - after each load, /capsule/v1/keys/loaded/<node ID> = the keyring revision loaded (the
//     leader's Resealer waits for every manager's before it destroys a key).
// The watch restarts (after a reload) when it ends. Thread-safe. `client`, `keyring` and
// `kek` must outlive it; Stop (or the destructor) clears the miss handler and joins the
// watch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "crypto/keyring.h"
#include "store/etcd/etcd_client.h"

namespace capsule::datakeys {

class KeyringSync {
 public:
  KeyringSync(etcd::Client& client, crypto::Keyring& keyring, const SecretBytes& kek,
              std::string node_id, const Clock& clock);
  ~KeyringSync();

  // Loads the keyring once (errors are returned), installs the miss handler and starts the
  // watch.
  Status Start();
  void Stop();

  // Reads the keyring from etcd and adopts it if it is newer than the one loaded (by
  // mod_revision); then records this manager's loaded revision. NotFound if there is none.
  Status Reload();

  // The mod_revision of the keyring last adopted (0 before the first).
  int64_t loaded_revision() const;

 private:
  void WatchLoop();

  etcd::Client& client_;
  crypto::Keyring& keyring_;
  const SecretBytes& kek_;
  const std::string node_id_;
  const Clock& clock_;
  mutable std::mutex mu_;  // serialises reloads; guards the fields below
  std::condition_variable cv_;
  int64_t loaded_revision_ = 0;
  int64_t acked_revision_ = 0;
  bool stop_ = false;
  bool watch_ended_ = false;
  std::thread thread_;
};

}  // namespace capsule::datakeys
