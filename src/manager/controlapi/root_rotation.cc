#include "manager/controlapi/root_rotation.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "ca/issuer_info.h"
#include "ca/join_token.h"

namespace capsule::controlapi {
namespace {

constexpr char kInitialRootId[] = "root";
// swarmkit's minRootExpiration: a supplied root must last at least this long.
constexpr std::chrono::hours kMinRootValidity{365 * 24};

std::string RecordIdFor(const std::string& cert_pem) {
  return "root-" + ca::RootCaDigestBase36(cert_pem).substr(0, 32);
}

StatusOr<ca::RootCa> FromRecord(const store::StoredRecord& rec) {
  nlohmann::json meta = nlohmann::json::parse(rec.record.meta, nullptr, false);
  if (!meta.is_object() || !meta.contains("CertPem") || !meta["CertPem"].is_string()) {
    return absl::DataLossError("stored root CA record is malformed");
  }
  return ca::RootCa::FromPem(meta["CertPem"].get<std::string>(), rec.record.data);
}

// The number of certificates in a PEM bundle.
size_t CountCerts(const std::string& pem) {
  size_t n = 0;
  for (size_t at = pem.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
       at = pem.find("-----BEGIN CERTIFICATE-----", at + 1)) {
    ++n;
  }
  return n;
}

// The supplied root, checked as swarmkit does.
StatusOr<ca::RootCa> SuppliedRoot(const ClusterSpec& wanted, const SecretBytes& key,
                                  TimePoint now) {
  if (CountCerts(wanted.signing_ca_cert) > 1) {
    return absl::InvalidArgumentError(
        "the desired CA certificate cannot contain multiple certificates");
  }
  StatusOr<ca::RootCa> root = ca::RootCa::FromPem(wanted.signing_ca_cert, key);
  if (!root.ok()) {
    const bool mismatch = root.status().message().find("does not match") != std::string_view::npos;
    return absl::InvalidArgumentError(mismatch ? "certificate key mismatch"
                                               : std::string(root.status().message()));
  }
  ASSIGN_OR_RETURN(TimePoint not_after, root->NotAfter());
  if (not_after < now + kMinRootValidity) {
    return absl::InvalidArgumentError("CA certificate expires too soon");
  }
  return root;
}

}  // namespace

StatusOr<ca::RootCa> LoadRootCa(store::Store& store, const std::string& cert_pem) {
  StatusOr<store::StoredRecord> initial = store.Get(kCaKind, kInitialRootId);
  if (initial.ok()) {
    ASSIGN_OR_RETURN(ca::RootCa root, FromRecord(*initial));
    if (root.cert_pem() == cert_pem) return root;
  } else if (!absl::IsNotFound(initial.status())) {
    return initial.status();
  }
  ASSIGN_OR_RETURN(store::StoredRecord rec, store.Get(kCaKind, RecordIdFor(cert_pem)));
  ASSIGN_OR_RETURN(ca::RootCa root, FromRecord(rec));
  if (root.cert_pem() != cert_pem) return absl::DataLossError("stored root CA record mismatch");
  return root;
}

Status SaveRootCa(store::Store& store, const ca::RootCa& root) {
  ASSIGN_OR_RETURN(SecretBytes key, root.KeyPem());
  nlohmann::json meta = {{"CertPem", root.cert_pem()}};
  StatusOr<int64_t> rev =
      store.Update({kCaKind, RecordIdFor(root.cert_pem()), ""}, 0, {meta.dump(), std::move(key)});
  if (rev.ok()) return absl::OkStatus();
  // Already there (the same root supplied again): fine if it is that root.
  if (LoadRootCa(store, root.cert_pem()).ok()) return absl::OkStatus();
  return rev.status();
}

Status DropRootCa(store::Store& store, const std::string& cert_pem) {
  StatusOr<store::StoredRecord> initial = store.Get(kCaKind, kInitialRootId);
  std::string id = RecordIdFor(cert_pem);
  if (initial.ok()) {
    StatusOr<ca::RootCa> root = FromRecord(*initial);
    if (root.ok() && root->cert_pem() == cert_pem) id = kInitialRootId;
  }
  Status s = store.Delete({kCaKind, id, ""}, 0).status();
  return absl::IsNotFound(s) ? absl::OkStatus() : s;
}

StatusOr<CaChange> PlanCaChange(store::Store& store, const Cluster& current,
                                const ClusterSpec& wanted, const SecretBytes& signing_ca_key,
                                TimePoint now) {
  const bool has_key = !signing_ca_key.view().empty();
  if (has_key && wanted.signing_ca_cert.empty()) {
    return absl::InvalidArgumentError(
        "if a signing CA key is provided, the signing CA cert must also be provided");
  }
  CaChange change;
  std::optional<ca::RootCa> next;
  if (wanted.signing_ca_cert.empty()) {
    if (wanted.ca_force_rotate == current.spec.ca_force_rotate) return change;
    ASSIGN_OR_RETURN(ca::RootCa fresh, ca::RootCa::Generate(now));
    next.emplace(std::move(fresh));
  } else {
    // The spec as GET /swarm shows it comes back without the key: no change.
    const std::string& cert = wanted.signing_ca_cert;
    const bool is_current = cert == current.root_ca_cert_pem;
    const bool is_next = !current.rotation_cert_pem.empty() && cert == current.rotation_cert_pem;
    if (!has_key && (is_current || is_next)) {
      if (wanted.ca_force_rotate == current.spec.ca_force_rotate || is_next) return change;
    }
    if (!has_key) {
      // Capsule has no external CAs: a certificate without its key cannot sign.
      return absl::InvalidArgumentError(
          "there must be at least one valid, reachable external CA corresponding to the desired "
          "CA certificate");
    }
    ASSIGN_OR_RETURN(ca::RootCa supplied, SuppliedRoot(wanted, signing_ca_key, now));
    if (supplied.cert_pem() == current.root_ca_cert_pem) {
      change.kind =
          current.rotation_cert_pem.empty() ? CaChange::Kind::kNone : CaChange::Kind::kAbort;
      return change;
    }
    if (supplied.cert_pem() == current.rotation_cert_pem) return change;
    next.emplace(std::move(supplied));
  }
  // The cross-signature comes from the current root's own key (not a rotation's signer).
  ASSIGN_OR_RETURN(ca::RootCa old_root, LoadRootCa(store, current.root_ca_cert_pem));
  StatusOr<std::string> cross = old_root.CrossSign(next->cert_pem(), now);
  if (!cross.ok()) {
    spdlog::error("root rotation: cross-signing failed: {}", cross.status().ToString());
    return absl::InternalError("unable to generate a cross-signed certificate for root rotation");
  }
  RETURN_IF_ERROR(SaveRootCa(store, *next));
  change.kind = CaChange::Kind::kStart;
  change.cert_pem = next->cert_pem();
  change.cross_signed_pem = *cross;
  return change;
}

void ApplyCaChange(const CaChange& change, Cluster* c) {
  switch (change.kind) {
    case CaChange::Kind::kNone:
      return;
    case CaChange::Kind::kAbort:
      c->rotation_cert_pem.clear();
      c->rotation_cross_signed_pem.clear();
      return;
    case CaChange::Kind::kStart:
      c->rotation_cert_pem = change.cert_pem;
      c->rotation_cross_signed_pem = change.cross_signed_pem;
      return;
  }
}

Status FinishRotation(Cluster* c) {
  if (c->rotation_cert_pem.empty()) return absl::InvalidArgumentError("no root rotation runs");
  ASSIGN_OR_RETURN(ca::IssuerInfo issuer, ca::ReadIssuerInfo(c->rotation_cert_pem));
  c->root_ca_cert_pem = c->rotation_cert_pem;
  c->cert_issuer_subject = issuer.subject_b64;
  c->cert_issuer_public_key = issuer.public_key_b64;
  c->rotation_cert_pem.clear();
  c->rotation_cross_signed_pem.clear();
  c->worker_join_token = ca::NewJoinToken(c->root_ca_cert_pem);
  c->manager_join_token = ca::NewJoinToken(c->root_ca_cert_pem);
  return absl::OkStatus();
}

}  // namespace capsule::controlapi
