// Manager: autolock (dockerapi::AutolockControl), the KEK at start and the node key's form on
// disk. The key-wrapping key W (kek_) never changes; autolock only changes how this manager
// keeps it and its TLS key on disk (node/autolock_paths.h, node/identity_vault.h), following
// the swarm's one unlock key stored with the cluster object (manager/unlockkeys/): whichever
// manager a switch or rotation went through, every manager converges to the stored key (its
// follower sees the cluster object change; a manager that was down, at its next start):
//   off: the KEK file; swarm-node.key in the clear.
//   on:  the autolock box (W under the unlock key); swarm-node.key.sealed (the key under W),
//        the clear key only on a tmpfs over the certificates directory while running.
// Every switch writes the new form before removing the old one, so a crash leaves both and
// the next start finishes the switch (ReconcileAutolock).
#include <spdlog/spdlog.h>

#include <chrono>

#include "ca/unlock_key.h"
#include "common/clock.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "crypto/secure_file.h"
#include "manager/unlockkeys/unlock_key_store.h"
#include "node/autolock_paths.h"
#include "node/certificates.h"
#include "node/manager.h"

namespace capsule::node {

Status Manager::PrepareAutolockedIdentity() {
  MutexLock lock(autolock_mu_);
  RETURN_IF_ERROR(IdentityVault::ClearStale(CertificatesIn(config_.data_root)));
  identity_ = std::make_unique<IdentityVault>(CertificatesIn(config_.data_root));
  return identity_->Cover(SecretBytes());  // empty: the key is issued into the tmpfs
}

Status Manager::LoadKek(bool new_cluster) {
  const std::string& root = config_.data_root;
  MutexLock lock(autolock_mu_);
  if (!identity_) identity_ = std::make_unique<IdentityVault>(CertificatesIn(root));
  if (unlocked_) {
    kek_ = std::move(unlocked_->kek);
    unlock_key_ = std::move(unlocked_->unlock_key);
    unlocked_.reset();
    return identity_->Cover(kek_);
  }
  if (new_cluster && autolock_at_init_) {
    // `swarm init --autolock`: neither the KEK nor the node key is ever written in the clear.
    SecretBytes kek = crypto::RandomKey(crypto::kKeySize);
    SecretBytes key = crypto::RandomKey(crypto::kKeySize);
    ASSIGN_OR_RETURN(crypto::AutolockBox box, crypto::AutolockBox::New(key, kek));
    RETURN_IF_ERROR(crypto::WriteAutolockBox(AutolockBoxPath(root), box));
    RETURN_IF_ERROR(identity_->SyncUnderneath(kek, /*sealed=*/true));
    kek_ = std::move(kek);
    unlock_key_ = std::move(key);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(bool locked, StartsLocked(root));
  if (locked) {
    return absl::FailedPreconditionError(
        "this manager is autolocked: it opens only with its unlock key");
  }
  ASSIGN_OR_RETURN(kek_, crypto::LoadOrCreateKekFile(KekFilePath(root)));
  // A switch a crash interrupted may have sealed the key already.
  if (identity_->HasSealedKey()) return identity_->Cover(kek_);
  return absl::OkStatus();
}

StatusOr<SecretBytes> Manager::UnlockKey() const {
  // The swarm's key as stored (linearizable): every manager answers the same at once.
  ASSIGN_OR_RETURN(std::optional<unlockkeys::ClusterUnlockKeys> keys,
                   unlockkeys::ReadUnlockKeys(*store_, state_.cluster_id));
  if (!keys) return SecretBytes();
  return ca::FormatUnlockKey(keys->current);
}

std::optional<crypto::UnlockedKeys> Manager::AutolockKeys() const {
  MutexLock lock(autolock_mu_);
  if (unlock_key_.empty()) return std::nullopt;
  return crypto::UnlockedKeys{SecretBytes::CopyFrom(kek_.view()),
                              SecretBytes::CopyFrom(unlock_key_.view())};
}

Status Manager::ApplyAutolock(bool /*autolock: the spec just stored says it*/, bool rotate) {
  return ConvergeAutolock(rotate, /*adopt_own_key=*/false);
}

Status Manager::ConvergeAutolock(bool rotate, bool adopt_own_key) {
  MutexLock lock(autolock_mu_);
  if (!identity_) identity_ = std::make_unique<IdentityVault>(CertificatesIn(config_.data_root));
  // At start only: a manager locked with a key of its own (`swarm init --autolock`, or a
  // swarm from before the keys were the swarm's) makes it the swarm's if none is stored.
  // Later, a key still held only because this manager has not followed an `--autolock=false`
  // yet must not come back when autolock is turned on again.
  unlockkeys::ConvergeOptions options{rotate, config_.unlock_key_grace,
                                      adopt_own_key ? &unlock_key_ : nullptr};
  ASSIGN_OR_RETURN(
      std::optional<unlockkeys::ClusterUnlockKeys> keys,
      unlockkeys::ConvergeUnlockKeys(*store_, state_.cluster_id, RealClock(), options));
  return SyncDiskLocked(keys);
}

Status Manager::SyncDiskLocked(const std::optional<unlockkeys::ClusterUnlockKeys>& keys) {
  const std::string box_path = AutolockBoxPath(config_.data_root);
  const std::string kek_path = KekFilePath(config_.data_root);
  if (keys && (unlock_key_.empty() || !unlock_key_.Equals(keys->current.span()))) {
    // On, or a new key: the box for the swarm's key (with its previous key and deadline, the
    // same on every manager), then the node key sealed, then the KEK file goes.
    StatusOr<crypto::AutolockBox> box =
        keys->previous.empty() ? crypto::AutolockBox::New(keys->current, kek_)
                               : crypto::AutolockBox::Rotated(keys->previous, keys->current, kek_,
                                                              keys->previous_until);
    if (!box.ok()) return box.status();
    RETURN_IF_ERROR(crypto::WriteAutolockBox(box_path, *box));
    if (unlock_key_.empty()) {
      RETURN_IF_ERROR(identity_->Cover(kek_));
      RETURN_IF_ERROR(identity_->SyncUnderneath(kek_, /*sealed=*/true));
    }
    RETURN_IF_ERROR(RemoveFileDurably(kek_path));
    spdlog::info(unlock_key_.empty() ? "autolock turned on: sealed under the swarm's unlock key"
                                     : "re-sealed under the swarm's new unlock key");
    unlock_key_ = SecretBytes::CopyFrom(keys->current.span());
    return absl::OkStatus();
  }
  if (keys) return RemoveFileDurably(kek_path);  // a crash may have left it
  // Off. Started from the KEK file with the key in the clear: only a box a crash left behind
  // may need removing.
  if (unlock_key_.empty() && !identity_->covered()) return RemoveFileDurably(box_path);
  // The KEK file and the clear key first, then the box and the sealed key go.
  spdlog::info("autolock turned off: the KEK file is written back");
  RETURN_IF_ERROR(crypto::WriteFileAtomic(kek_path, kek_.span(), 0600, /*replace=*/true));
  if (identity_->covered()) {
    RETURN_IF_ERROR(identity_->SyncUnderneath(kek_, /*sealed=*/false));
    identity_->Uncover();
  }
  RETURN_IF_ERROR(RemoveFileDurably(box_path));
  unlock_key_ = SecretBytes();
  return absl::OkStatus();
}

Status Manager::ReconcileAutolock() {
  store::ClusterEntry cluster = reads_->GetCluster();
  if (!cluster) return absl::FailedPreconditionError("the cluster object is missing");
  const int64_t seen = cluster->mod_revision;
  RETURN_IF_ERROR(ConvergeAutolock(/*rotate=*/false, /*adopt_own_key=*/true));
  // From now on every change of the cluster object is followed (a rotation or a switch made
  // through another manager).
  unlock_follower_ = std::make_unique<unlockkeys::UnlockKeyFollower>(*reads_, RealClock(), [this] {
    return ConvergeAutolock(/*rotate=*/false, /*adopt_own_key=*/false);
  });
  unlock_follower_->Start(seen);
  return absl::OkStatus();
}

void Manager::OnIdentityRenewed() {
  MutexLock lock(autolock_mu_);
  if (!identity_ || !identity_->covered()) return;
  if (Status s = identity_->SyncUnderneath(kek_, /*sealed=*/true); !s.ok()) {
    spdlog::error("keeping the renewed node key sealed on disk: {}", s.ToString());
  }
}

}  // namespace capsule::node
