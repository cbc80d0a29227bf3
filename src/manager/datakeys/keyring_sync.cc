#include "manager/datakeys/keyring_sync.h"

#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "manager/datakeys/keyspaces.h"
#include "store/keys.h"

namespace capsule::datakeys {

KeyringSync::KeyringSync(etcd::Client& client, crypto::Keyring& keyring, const SecretBytes& kek,
                         std::string node_id, const Clock& clock)
    : client_(client), keyring_(keyring), kek_(kek), node_id_(std::move(node_id)), clock_(clock) {}

KeyringSync::~KeyringSync() { Stop(); }

Status KeyringSync::Start() {
  RETURN_IF_ERROR(Reload());
  keyring_.SetMissHandler([this](uint32_t id) {
    spdlog::info("keyring: a value names data key {}, not loaded here: reloading", id);
    Status s = Reload();
    if (!s.ok()) spdlog::warn("keyring: reload failed: {}", s.ToString());
  });
  std::lock_guard lock(mu_);
  stop_ = false;
  thread_ = std::thread([this] { WatchLoop(); });
  return absl::OkStatus();
}

void KeyringSync::Stop() {
  keyring_.SetMissHandler(nullptr);  // returns once no reload runs on its behalf
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t KeyringSync::loaded_revision() const {
  std::lock_guard lock(mu_);
  return loaded_revision_;
}

Status KeyringSync::Reload() {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(etcd::RangeResult r, client_.Range(store::kKeyringKey, ""));
  if (r.kvs.empty()) return absl::NotFoundError("the swarm's keyring is not in the store");
  const etcd::KeyValue& kv = r.kvs.front();
  if (kv.mod_revision > loaded_revision_) {
    ASSIGN_OR_RETURN(crypto::Keyring fresh, crypto::Keyring::Unwrap(kek_, kv.value));
    RETURN_IF_ERROR(keyring_.Adopt(std::move(fresh)));
    if (loaded_revision_ != 0) {
      spdlog::info("keyring: loaded revision {} (data key {} seals; {} key(s) held)",
                   kv.mod_revision, keyring_.active_key_id(), keyring_.key_ids().size());
    }
    loaded_revision_ = kv.mod_revision;
  }
  if (acked_revision_ < loaded_revision_) {
    RETURN_IF_ERROR(
        client_.Put(kLoadedPrefix + node_id_, std::to_string(loaded_revision_)).status());
    acked_revision_ = loaded_revision_;
  }
  return absl::OkStatus();
}

void KeyringSync::WatchLoop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      if (stop_) return;
      watch_ended_ = false;
    }
    Status s = Reload();  // catches up with what changed while no watch ran
    if (!s.ok()) spdlog::warn("keyring: reload failed: {}", s.ToString());
    etcd::WatchCallbacks cb;
    cb.on_events = [this](const std::vector<etcd::WatchEvent>&, int64_t) {
      Status r = Reload();
      if (!r.ok()) spdlog::warn("keyring: reload after a change failed: {}", r.ToString());
    };
    cb.on_error = [this](const Status&) {
      {
        std::lock_guard lock(mu_);
        watch_ended_ = true;
      }
      cv_.notify_all();
    };
    StatusOr<std::unique_ptr<etcd::Watch>> watch =
        s.ok() ? client_.WatchRange(store::kKeyringKey, "", loaded_revision() + 1, std::move(cb))
               : StatusOr<std::unique_ptr<etcd::Watch>>(s);
    std::unique_lock lock(mu_);
    if (watch.ok()) {
      cv_.wait(lock, [this] { return stop_ || watch_ended_; });
    }
    if (stop_) {
      lock.unlock();
      return;  // ~Watch joins its thread (no callback after)
    }
    // The watch ended (compaction, the member restarting) or could not start: again soon.
    clock_.WaitFor(cv_, lock, std::chrono::seconds(1), [this] { return stop_; });
  }
}

}  // namespace capsule::datakeys
