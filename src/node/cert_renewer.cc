#include "node/cert_renewer.h"

#include <spdlog/spdlog.h>

#include "ca/cert_info.h"
#include "ca/node_key.h"
#include "ca/root_ca.h"
#include "common/file_read.h"

namespace capsule::node {
namespace {}  // namespace

TimePoint RenewalDueAt(TimePoint not_before, TimePoint not_after) {
  TimePoint issued = not_before;
  if (not_after - not_before > ca::kBackdate) issued = not_before + ca::kBackdate;
  return issued + (not_after - issued) / 2;
}

CertRenewer::CertRenewer(CertificatePaths paths, SignFn sign, RenewedFn on_renewed,
                         const Clock& clock)
    : paths_(std::move(paths)),
      sign_(std::move(sign)),
      on_renewed_(std::move(on_renewed)),
      clock_(clock) {}

CertRenewer::~CertRenewer() { Stop(); }

StatusOr<bool> CertRenewer::CheckOnce(bool force) {
  MutexLock check(check_mu_);
  ASSIGN_OR_RETURN(std::string current, ReadWholeFile(paths_.cert));
  ASSIGN_OR_RETURN(ca::CertInfo old_info, ca::ParseCertInfo(current));
  if (!force && clock_.Now() < RenewalDueAt(old_info.not_before, old_info.not_after)) return false;

  CertRenewalRequest req;
  req.current_cert_pem = current;
  ASSIGN_OR_RETURN(req.key_pem, ca::ReadNodeKeyFile(paths_.key));
  ASSIGN_OR_RETURN(req.csr_pem, ca::CsrForKey(req.key_pem, old_info.node_id));
  ASSIGN_OR_RETURN(std::string renewed, sign_(req));

  ASSIGN_OR_RETURN(ca::CertInfo info, ca::ParseCertInfo(renewed));
  if (info.node_id != old_info.node_id || info.role != old_info.role ||
      info.cluster_id != old_info.cluster_id) {
    return absl::FailedPreconditionError("the renewed certificate names another node (" +
                                         info.node_id + ")");
  }
  if (info.not_after <= old_info.not_after) {
    return absl::FailedPreconditionError("the renewed certificate does not last longer");
  }
  RETURN_IF_ERROR(ca::KeyMatchesCert(req.key_pem, renewed));
  RETURN_IF_ERROR(ca::WriteCertFile(paths_.cert, renewed));
  spdlog::info("renewed this node's certificate (node {}), valid until {}", info.node_id,
               FormatRfc3339Nano(info.not_after));
  if (on_renewed_) on_renewed_(renewed, req.key_pem);
  return true;
}

void CertRenewer::Start(std::chrono::milliseconds period) {
  thread_ = std::thread([this, period] {
    while (true) {
      {
        MutexLock lock(mu_);
        if (clock_.WaitFor(cv_, lock.native(), period,
                           [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; }))
          return;
      }
      bool force = false;
      if (poll_) {
        StatusOr<bool> p = poll_();
        if (p.ok()) force = *p;
        if (!p.ok()) spdlog::warn("root CA sync failed: {}", p.status().ToString());
      }
      StatusOr<bool> r = CheckOnce(force);
      if (!r.ok()) spdlog::warn("certificate renewal failed: {}", r.status().ToString());
    }
  });
}

void CertRenewer::Stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace capsule::node
