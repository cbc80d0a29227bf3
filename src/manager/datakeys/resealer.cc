#include "manager/datakeys/resealer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "crypto/aead.h"
#include "manager/datakeys/keyspaces.h"
#include "manager/datakeys/rotation.h"
#include "store/keys.h"

namespace capsule::datakeys {
namespace {

using etcd::Compare;
using etcd::Op;

constexpr char kResealing[] = "resealing";
constexpr char kWaiting[] = "waiting-for-managers";
constexpr char kVerifying[] = "verifying";
constexpr char kDone[] = "done";

Op KeysOnly(const std::string& key, const std::string& range_end) {
  Op op = Op::Get(key, range_end);
  op.keys_only = true;
  return op;
}

std::string Now(const Clock& clock) { return FormatRfc3339Nano(clock.Now()); }

}  // namespace

Resealer::Resealer(etcd::Client& client, crypto::Keyring& keyring, KeyringSync& sync,
                   const SecretBytes& kek, const store::Fence& fence, ManagersFn managers,
                   const Clock& clock, ResealerOptions options)
    : client_(client),
      keyring_(keyring),
      sync_(sync),
      kek_(kek),
      fence_{fence.key, Compare::Target::kCreateRevision, Compare::Result::kEqual,
             fence.create_revision, ""},
      managers_(std::move(managers)),
      clock_(clock),
      options_(options) {}

Resealer::~Resealer() { Stop(); }

void Resealer::Start() {
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] {
    std::string last_error;
    while (!Stopping()) {
      Status s = absl::OkStatus();
      // The in-memory keyring follows etcd's (KeyringSync): one key = nothing to do.
      if (keyring_.key_ids().size() > 1) s = RunOnce();
      if (!s.ok() && !Stopping() && s.ToString() != last_error) {
        spdlog::warn("data key rotation: {}", s.ToString());
      }
      last_error = s.ok() ? "" : s.ToString();
      std::unique_lock lock(mu_);
      clock_.WaitFor(cv_, lock, s.ok() ? options_.period : 10 * options_.period,
                     [this] { return stop_; });
    }
  });
}

void Resealer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Resealer::Stopping() {
  std::lock_guard lock(mu_);
  return stop_;
}

Status Resealer::RunOnce() {
  ASSIGN_OR_RETURN(StoredKeyring stored, ReadKeyring(client_, kek_));
  const std::vector<uint32_t> ids = stored.keyring.key_ids();
  if (ids.size() < 2) return absl::OkStatus();
  uint32_t active = stored.keyring.active_key_id();
  if (ids.back() > active) {
    // Staged but never activated (the manager that began the rotation stopped in between).
    RETURN_IF_ERROR(stored.keyring.Activate(ids.back()));
    ASSIGN_OR_RETURN(stored.mod_revision,
                     WriteKeyring(client_, kek_, stored.keyring, stored.mod_revision, &fence_));
    active = ids.back();
    spdlog::info("data key {} activated (its rotation had stopped after staging it)", active);
  }
  // From here on this manager seals with `active`, and opens everything the pass meets.
  RETURN_IF_ERROR(sync_.Reload());
  if (keyring_.active_key_id() != active) {
    return absl::AbortedError("the keyring changed while the rotation started");
  }
  std::vector<uint32_t> retiring;
  for (uint32_t id : ids) {
    if (id != active) retiring.push_back(id);
  }

  ASSIGN_OR_RETURN(std::optional<ResealProgress> recorded, Recorded());
  ResealProgress p;
  if (recorded && recorded->target == active && recorded->phase != kDone) {
    p = *std::move(recorded);  // resume
    p.retiring = retiring;
    spdlog::info("data key rotation to key {}: resuming ({}, {}/{})", active, p.phase, p.visited,
                 p.total);
  } else {
    p.target = active;
    p.retiring = retiring;
    p.phase = kResealing;
    p.started_at = Now(clock_);
    ASSIGN_OR_RETURN(p.total, CountSealed());
    RETURN_IF_ERROR(Record(p));
    spdlog::info("data key rotation to key {}: re-sealing {} value(s)", active, p.total);
  }

  if (p.phase == kResealing) {
    RETURN_IF_ERROR(Scan(active, &p, /*record=*/true).status());
    p.phase = kWaiting;
    RETURN_IF_ERROR(Record(p));
  }
  if (p.phase == kWaiting) {
    RETURN_IF_ERROR(WaitForManagers(stored.mod_revision, &p));
    std::unique_lock lock(mu_);
    clock_.WaitFor(cv_, lock, options_.settle, [this] { return stop_; });
    if (stop_) return absl::CancelledError("stopping");
    lock.unlock();
    p.phase = kVerifying;
    p.waiting_for.clear();
    RETURN_IF_ERROR(Record(p));
  }
  // kVerifying: a full scan must find no value under a retiring key before one is destroyed.
  for (int round = 0;; ++round) {
    ResealProgress scan = p;
    scan.prefix = 0;
    scan.after.clear();
    ASSIGN_OR_RETURN(int64_t found, Scan(active, &scan, /*record=*/false));
    p.resealed = scan.resealed;
    if (found == 0) break;
    spdlog::info("data key rotation: the verifying scan found {} value(s) under a retiring key",
                 found);
    if (round == 3) {
      return absl::UnavailableError(
          absl::StrCat(found, " value(s) are still sealed under a retiring data key"));
    }
  }
  ASSIGN_OR_RETURN(StoredKeyring now, ReadKeyring(client_, kek_));
  if (now.keyring.active_key_id() != active) {
    return absl::AbortedError("the keyring changed during the rotation");
  }
  for (uint32_t id : retiring) {
    Status removed = now.keyring.Remove(id);
    if (!removed.ok() && removed.code() != absl::StatusCode::kNotFound) return removed;
  }
  RETURN_IF_ERROR(WriteKeyring(client_, kek_, now.keyring, now.mod_revision, &fence_).status());
  p.phase = kDone;
  p.finished_at = Now(clock_);
  RETURN_IF_ERROR(Record(p));
  spdlog::info("data key rotation to key {} done: {} value(s) re-sealed, key(s) {} destroyed",
               active, p.resealed, absl::StrJoin(retiring, ","));
  return sync_.Reload();  // wipes the retired keys here (the other managers: on the watch)
}

StatusOr<int64_t> Resealer::Scan(uint32_t active, ResealProgress* p, bool record) {
  int64_t found = 0;
  for (; p->prefix < static_cast<int>(kSealedPrefixes.size()); ++p->prefix, p->after.clear()) {
    const std::string prefix(kSealedPrefixes[p->prefix]);
    const std::string start = p->after.empty() ? prefix : p->after + '\0';
    ASSIGN_OR_RETURN(etcd::TxnResult listed,
                     client_.Txn({}, {KeysOnly(start, etcd::PrefixEnd(prefix))}, {}));
    if (listed.ranges.empty()) return absl::InternalError("re-seal: no range in the answer");
    const std::vector<etcd::KeyValue>& keys = listed.ranges.front();
    for (size_t i = 0; i < keys.size(); i += options_.read_batch) {
      if (Stopping()) return absl::CancelledError("stopping");
      std::vector<Op> gets;
      for (size_t j = i; j < std::min(keys.size(), i + options_.read_batch); ++j) {
        gets.push_back(Op::Get(keys[j].key));
      }
      ASSIGN_OR_RETURN(etcd::TxnResult values, client_.Txn({}, gets, {}));
      for (size_t j = 0; j < gets.size(); ++j) {
        if (j < values.ranges.size() && !values.ranges[j].empty()) {
          RETURN_IF_ERROR(Reseal(values.ranges[j].front(), active, &found, p));
        }
        ++p->visited;
        p->after = gets[j].key;
      }
      if (record) RETURN_IF_ERROR(Record(*p));
    }
  }
  return found;
}

Status Resealer::Reseal(etcd::KeyValue kv, uint32_t active, int64_t* found, ResealProgress* p) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    StatusOr<uint32_t> id = crypto::SealedKeyId(kv.value);
    if (!id.ok()) {
      // Never re-sealed, so never counted as done: the old keys stay until it is dealt with.
      spdlog::error("re-seal: {} is not a sealed value: {}", kv.key, id.status().ToString());
      ++*found;
      return absl::OkStatus();
    }
    if (*id == active) return absl::OkStatus();
    if (attempt == 0) ++*found;
    StatusOr<SecretBytes> plain = keyring_.Open(kv.key, kv.value);
    if (!plain.ok()) {
      spdlog::error("re-seal: {} does not open: {}", kv.key, plain.status().ToString());
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::string sealed, keyring_.Seal(kv.key, plain->span()));
    if (crypto::SealedKeyId(sealed).value_or(0) != active) {
      return absl::AbortedError("this manager's keyring does not seal with the new data key");
    }
    if (options_.interrupt_after > 0 && writes_ >= options_.interrupt_after) {
      return absl::CancelledError("re-seal interrupted (test)");
    }
    if (options_.before_write) options_.before_write(kv.key);
    ASSIGN_OR_RETURN(etcd::TxnResult r,
                     client_.Txn({Compare{kv.key, Compare::Target::kModRevision,
                                          Compare::Result::kEqual, kv.mod_revision, ""},
                                  fence_},
                                 {Op::Put(kv.key, std::move(sealed), kv.lease)},
                                 {Op::Get(kv.key), Op::GetKeysOnly(fence_.key)}));
    if (r.succeeded) {
      ++writes_;
      ++p->resealed;
      return absl::OkStatus();
    }
    if (r.ranges.size() < 2) return absl::InternalError("re-seal: short failure answer");
    if (r.ranges[1].empty() || r.ranges[1].front().create_revision != fence_.revision) {
      return absl::FailedPreconditionError(store::kNotLeaderMessage);
    }
    if (r.ranges[0].empty()) return absl::OkStatus();  // deleted meanwhile: nothing to do
    kv = r.ranges[0].front();                          // a client's write won; look at its value
  }
  return absl::AbortedError(absl::StrCat("re-seal: ", kv.key, " keeps changing"));
}

Status Resealer::WaitForManagers(int64_t keyring_revision, ResealProgress* p) {
  const SteadyTime deadline = clock_.SteadyNow() + options_.ack_timeout;
  std::string recorded_waiting;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<std::string> managers, managers_());
    ASSIGN_OR_RETURN(etcd::RangeResult acks,
                     client_.Range(kLoadedPrefix, etcd::PrefixEnd(kLoadedPrefix)));
    std::map<std::string, int64_t> loaded;
    for (const etcd::KeyValue& kv : acks.kvs) {
      int64_t rev = 0;
      try {
        rev = std::stoll(kv.value);
      } catch (const std::exception&) {
      }
      loaded[kv.key.substr(std::string(kLoadedPrefix).size())] = rev;
    }
    std::vector<std::string> missing;
    for (const std::string& m : managers) {
      auto it = loaded.find(m);
      if (it == loaded.end() || it->second < keyring_revision) missing.push_back(m);
    }
    if (missing.empty()) return absl::OkStatus();
    p->waiting_for = absl::StrJoin(missing, ",");
    if (p->waiting_for != recorded_waiting) {
      RETURN_IF_ERROR(Record(*p));
      recorded_waiting = p->waiting_for;
    }
    if (clock_.SteadyNow() >= deadline) {
      return absl::UnavailableError(
          absl::StrCat("waiting for managers to load the new data key: ", p->waiting_for));
    }
    std::unique_lock lock(mu_);
    clock_.WaitFor(cv_, lock, std::chrono::milliseconds(200), [this] { return stop_; });
    if (stop_) return absl::CancelledError("stopping");
  }
}

StatusOr<int64_t> Resealer::CountSealed() {
  int64_t total = 0;
  for (std::string_view prefix : kSealedPrefixes) {
    const std::string start(prefix);
    ASSIGN_OR_RETURN(etcd::TxnResult r,
                     client_.Txn({}, {KeysOnly(start, etcd::PrefixEnd(start))}, {}));
    if (!r.ranges.empty()) total += static_cast<int64_t>(r.ranges.front().size());
  }
  return total;
}

Status Resealer::Record(const ResealProgress& p) {
  if (options_.on_phase && p.phase != last_phase_) options_.on_phase(p.phase);
  last_phase_ = p.phase;
  ASSIGN_OR_RETURN(etcd::TxnResult r,
                   client_.Txn({fence_}, {Op::Put(kRotationKey, EncodeProgress(p))}, {}));
  if (!r.succeeded) return absl::FailedPreconditionError(store::kNotLeaderMessage);
  return absl::OkStatus();
}

StatusOr<std::optional<ResealProgress>> Resealer::Recorded() {
  ASSIGN_OR_RETURN(etcd::RangeResult r, client_.Range(kRotationKey, ""));
  if (r.kvs.empty()) return std::optional<ResealProgress>();
  StatusOr<ResealProgress> p = DecodeProgress(r.kvs.front().value);
  if (!p.ok()) {
    spdlog::warn("data key rotation: ignoring an unreadable progress record");
    return std::optional<ResealProgress>();
  }
  return std::optional<ResealProgress>(*std::move(p));
}

}  // namespace capsule::datakeys
