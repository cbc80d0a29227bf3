// Automatic renewal of this node's certificate (<data-root>/swarm/certificates/swarm-node.crt)
// well before it expires, without a restart. A background thread checks every `check_period`;
// once half of the certificate's validity has passed it asks `sign` for a new certificate for
// the same key (a fresh CSR from the key on disk), checks that it names the same node, role
// and cluster, matches the key and lasts longer, then replaces the certificate file
// atomically and calls `on_renewed`. The key never changes.
//
// The validity counted is the one the CA granted: notAfter - notBefore minus the CA's backdate
// (ca::kBackdate), so a short-lived certificate is not renewed on every check.
//
// Managers sign locally with their RootCa; workers call NodeCA.RenewNodeCertificate (see
// node/manager.cc and node/worker.cc). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "node/certificates.h"

namespace capsule::node {

inline constexpr std::chrono::seconds kDefaultCertCheckPeriod{60};

// What a renewal asks the CA for.
struct CertRenewalRequest {
  std::string current_cert_pem;  // the certificate on disk (workers authenticate with it)
  SecretBytes key_pem;           // this node's key (unchanged)
  std::string csr_pem;           // a CSR for that key
};

class CertRenewer {
 public:
  // Returns the new certificate PEM.
  using SignFn = std::function<StatusOr<std::string>(const CertRenewalRequest&)>;
  // Called after the new certificate file is in place (e.g. to reconnect with it).
  using RenewedFn = std::function<void(const std::string& cert_pem, const SecretBytes& key_pem)>;
  // Called before each periodic check (a root rotation's sync, node/ca_sync.h): true = renew
  // now, due or not. An error is logged and the check runs as usual.
  using PollFn = std::function<StatusOr<bool>()>;

  // `clock` must outlive the renewer. Does not start the thread.
  CertRenewer(CertificatePaths paths, SignFn sign, RenewedFn on_renewed, const Clock& clock);
  ~CertRenewer();  // Stop()
  CertRenewer(const CertRenewer&) = delete;
  CertRenewer& operator=(const CertRenewer&) = delete;

  // One check. Returns true when the certificate was renewed, false when it is not due (and
  // not `force`d). A failed renewal leaves the file unchanged and returns the error.
  StatusOr<bool> CheckOnce(bool force = false);

  // Sets the poll run before each periodic check. Call before Start().
  void SetPoll(PollFn poll) { poll_ = std::move(poll); }

  // Runs CheckOnce every `period` of the clock on a thread (errors are logged and retried next
  // period).
  void Start(std::chrono::milliseconds period);
  // Joins the thread. Idempotent.
  void Stop();

 private:
  const CertificatePaths paths_;
  const SignFn sign_;
  const RenewedFn on_renewed_;
  PollFn poll_;  // set before Start()
  const Clock& clock_;
  Mutex check_mu_;  // one check at a time
  Mutex mu_;
  std::condition_variable cv_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// When `cert` (notBefore, notAfter) is due for renewal: half its CA-granted validity after
// issuance (see the file comment).
TimePoint RenewalDueAt(TimePoint not_before, TimePoint not_after);

}  // namespace capsule::node
