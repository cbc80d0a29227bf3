// Root CA rotation in the store (docs/ca-rotation.md).
//
// Root keys: one kCaKind record per root, meta {"CertPem"}, data = the key PEM (sealed like every
// value). The root made at `swarm init` is "root"; a later one is "root-<32 hex of its sha256>".
// The cluster object says which root is current (root_ca_cert_pem, TLSInfo.TrustRoot) and, while
// a rotation runs, which root it moves to (rotation_cert_pem) with the cross-signed intermediate.
//
// A rotation starts in `swarm update` (PlanCaChange, swarmkit's validateCAConfig): a changed
// CAConfig.ForceRotate → a fresh root; a SigningCACert+SigningCAKey → that root (the pair must
// match: InvalidArgument "certificate key mismatch"). The leader finishes it
// (node/root_rotation_finisher.h) once every node presents a certificate of the new root:
// FinishedCluster then makes the new root current, clears the rotation and replaces both join
// tokens (their digest names the new root: old tokens stop working at that moment).
#pragma once

#include <string>

#include "ca/root_ca.h"
#include "common/clock.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "objects/objects.h"
#include "store/store.h"

namespace capsule::controlapi {

// The key of the root whose certificate is `cert_pem`. NotFound when none is stored;
// DataLoss when the record is malformed.
StatusOr<ca::RootCa> LoadRootCa(store::Store& store, const std::string& cert_pem);
// Stores `root` under "root-<digest>" (an identical record already there is fine).
Status SaveRootCa(store::Store& store, const ca::RootCa& root);
// Deletes the key of the root `cert_pem` (not there: OK).
Status DropRootCa(store::Store& store, const std::string& cert_pem);

// What a `swarm update` does to the cluster's CA.
struct CaChange {
  enum class Kind { kNone, kStart, kAbort } kind = Kind::kNone;
  std::string cert_pem;          // kStart: the new root (its key already saved)
  std::string cross_signed_pem;  // kStart: the new root certified by the current one
};

// Validates `wanted`'s CAConfig against `current` and, for a new rotation, makes the new
// root (or checks the supplied one), cross-signs it with the current root's key and saves its
// key. Errors are Docker's (InvalidArgument).
StatusOr<CaChange> PlanCaChange(store::Store& store, const Cluster& current,
                                const ClusterSpec& wanted, const SecretBytes& signing_ca_key,
                                TimePoint now);

// `c` with `change` applied (the rotation fields).
void ApplyCaChange(const CaChange& change, Cluster* c);

// `c` with its rotation finished: the new root current (TLSInfo from it), no rotation, new
// join tokens for the new root. InvalidArgument when no rotation runs.
Status FinishRotation(Cluster* c);

}  // namespace capsule::controlapi
