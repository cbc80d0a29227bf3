// Manager: autolock (dockerapi::AutolockControl), the KEK at start and the node key's form on
// disk. The key-wrapping key W (kek_) never changes; autolock only changes how this manager
// keeps it and its TLS key on disk (node/autolock_paths.h, node/identity_vault.h):
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
  MutexLock lock(autolock_mu_);
  if (unlock_key_.empty()) return SecretBytes();
  return ca::FormatUnlockKey(unlock_key_);
}

std::optional<crypto::UnlockedKeys> Manager::AutolockKeys() const {
  MutexLock lock(autolock_mu_);
  if (unlock_key_.empty()) return std::nullopt;
  return crypto::UnlockedKeys{SecretBytes::CopyFrom(kek_.view()),
                              SecretBytes::CopyFrom(unlock_key_.view())};
}

Status Manager::ApplyAutolock(bool autolock, bool rotate) {
  MutexLock lock(autolock_mu_);
  if (!identity_) identity_ = std::make_unique<IdentityVault>(CertificatesIn(config_.data_root));
  const std::string box_path = AutolockBoxPath(config_.data_root);
  const std::string kek_path = KekFilePath(config_.data_root);
  if (autolock && (unlock_key_.empty() || rotate)) {
    SecretBytes key = crypto::RandomKey(crypto::kKeySize);
    StatusOr<crypto::AutolockBox> box = crypto::AutolockBox::New(key, kek_);
    if (!unlock_key_.empty()) {
      // Rotation: the previous key keeps opening the box for the grace period, or until the
      // next rotation replaces it.
      const int64_t until = std::chrono::duration_cast<std::chrono::seconds>(
                                (RealClock().Now() + config_.unlock_key_grace).time_since_epoch())
                                .count();
      box = crypto::AutolockBox::Rotated(unlock_key_, key, kek_, until);
    }
    if (!box.ok()) return box.status();
    RETURN_IF_ERROR(crypto::WriteAutolockBox(box_path, *box));
    if (unlock_key_.empty()) {
      RETURN_IF_ERROR(identity_->Cover(kek_));
      RETURN_IF_ERROR(identity_->SyncUnderneath(kek_, /*sealed=*/true));
    }
    RETURN_IF_ERROR(RemoveFileDurably(kek_path));
    spdlog::info(unlock_key_.empty() ? "autolock turned on" : "manager unlock key rotated");
    unlock_key_ = std::move(key);
    return absl::OkStatus();
  }
  if (autolock) return RemoveFileDurably(kek_path);  // a crash may have left it
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
  return ApplyAutolock(cluster->object.spec.autolock_managers, /*rotate=*/false);
}

void Manager::OnIdentityRenewed() {
  MutexLock lock(autolock_mu_);
  if (!identity_ || !identity_->covered()) return;
  if (Status s = identity_->SyncUnderneath(kek_, /*sealed=*/true); !s.ok()) {
    spdlog::error("keeping the renewed node key sealed on disk: {}", s.ToString());
  }
}

}  // namespace capsule::node
