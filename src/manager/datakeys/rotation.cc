#include "manager/datakeys/rotation.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "manager/datakeys/keyspaces.h"
#include "store/fence.h"
#include "store/keys.h"

namespace capsule::datakeys {

using etcd::Compare;
using etcd::Op;

StatusOr<StoredKeyring> ReadKeyring(etcd::Client& client, const SecretBytes& kek) {
  ASSIGN_OR_RETURN(etcd::RangeResult r, client.Range(store::kKeyringKey, ""));
  if (r.kvs.empty()) return absl::NotFoundError("the swarm's keyring is not in the store");
  ASSIGN_OR_RETURN(crypto::Keyring k, crypto::Keyring::Unwrap(kek, r.kvs.front().value));
  return StoredKeyring{std::move(k), r.kvs.front().mod_revision};
}

StatusOr<int64_t> WriteKeyring(etcd::Client& client, const SecretBytes& kek,
                               const crypto::Keyring& keyring, int64_t expected_revision,
                               const Compare* fence) {
  ASSIGN_OR_RETURN(std::string wrapped, keyring.Wrap(kek));
  std::vector<Compare> compares = {Compare{store::kKeyringKey, Compare::Target::kModRevision,
                                           Compare::Result::kEqual, expected_revision, ""}};
  if (fence != nullptr) compares.push_back(*fence);
  ASSIGN_OR_RETURN(etcd::TxnResult r,
                   client.Txn(compares, {Op::Put(store::kKeyringKey, std::move(wrapped))},
                              {Op::GetKeysOnly(store::kKeyringKey)}));
  if (r.succeeded) return r.revision;
  if (fence != nullptr) {
    ASSIGN_OR_RETURN(etcd::RangeResult f, client.Range(fence->key, ""));
    if (f.kvs.empty() || f.kvs.front().create_revision != fence->revision) {
      return absl::FailedPreconditionError(store::kNotLeaderMessage);
    }
  }
  return absl::AbortedError("the keyring changed meanwhile");
}

StatusOr<DataKeyState> DataKeyRotation::State() const {
  ASSIGN_OR_RETURN(etcd::RangeResult keyring, client_.Range(store::kKeyringKey, ""));
  if (keyring.kvs.empty()) return absl::NotFoundError("the swarm's keyring is not in the store");
  ASSIGN_OR_RETURN(crypto::Keyring k, crypto::Keyring::Unwrap(kek_, keyring.kvs.front().value));
  ASSIGN_OR_RETURN(etcd::RangeResult progress, client_.Range(kRotationKey, ""));
  DataKeyState s;
  s.current = k.active_key_id();
  s.key_ids = k.key_ids();
  std::optional<ResealProgress> recorded;
  if (!progress.kvs.empty()) {
    StatusOr<ResealProgress> p = DecodeProgress(progress.kvs.front().value);
    if (p.ok()) recorded = *std::move(p);
  }
  if (s.key_ids.size() > 1) {
    if (recorded && recorded->target == s.current && recorded->phase != "done") {
      s.rotation = recorded;
    } else {
      ResealProgress starting;
      starting.target = s.key_ids.back();
      for (uint32_t id : s.key_ids) {
        if (id != starting.target) starting.retiring.push_back(id);
      }
      starting.phase = "starting";
      s.rotation = starting;
    }
  }
  if (recorded && recorded->phase == "done") s.last = recorded;
  return s;
}

StatusOr<DataKeyState> DataKeyRotation::Begin() {
  ASSIGN_OR_RETURN(StoredKeyring stored, ReadKeyring(client_, kek_));
  if (stored.keyring.key_ids().size() > 1) {
    ASSIGN_OR_RETURN(DataKeyState s, State());
    std::string detail;
    if (s.rotation) {
      detail = absl::StrCat(" (data key ", s.rotation->target, ", ", s.rotation->phase, " ",
                            s.rotation->visited, "/", s.rotation->total, ")");
    }
    return absl::AlreadyExistsError(absl::StrCat(kRotationInProgress, detail));
  }
  // Staged first: a manager that reloads now can open what the new key will seal before any
  // manager seals with it (the miss handler covers one that has not reloaded yet).
  const uint32_t id = stored.keyring.Stage();
  StatusOr<int64_t> staged =
      WriteKeyring(client_, kek_, stored.keyring, stored.mod_revision, nullptr);
  if (staged.status().code() == absl::StatusCode::kAborted) {
    // Another manager changed the keyring first: it began a rotation.
    return absl::AlreadyExistsError(kRotationInProgress);
  }
  RETURN_IF_ERROR(staged.status());
  RETURN_IF_ERROR(stored.keyring.Activate(id));
  StatusOr<int64_t> active = WriteKeyring(client_, kek_, stored.keyring, *staged, nullptr);
  if (!active.ok()) {
    // Staged but not active: the leader's Resealer activates it (resealer.h).
    spdlog::warn("data key {} staged, not activated: {}", id, active.status().ToString());
  } else {
    spdlog::info("data key {} is now the active one; the leader re-seals every value", id);
  }
  Status reloaded = sync_.Reload();
  if (!reloaded.ok()) spdlog::warn("keyring reload: {}", reloaded.ToString());
  return State();
}

}  // namespace capsule::datakeys
