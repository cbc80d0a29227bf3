#include "manager/election/elector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "store/etcd/key_absent.h"

namespace capsule::election {

using etcd::Compare;
using etcd::Op;

Elector::Elector(etcd::Client& client, const Clock& clock, ElectorOptions options,
                 ElectorCallbacks callbacks)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)) {}

Elector::~Elector() { Stop(); }

void Elector::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { Run(); });
}

void Elector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Elector::StepDown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    step_down_ = true;
  }
  cv_.notify_all();
}

bool Elector::IsLeader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leading_;
}

std::string Elector::Leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leader_;
}

void Elector::SetLeader(std::string id, bool self) {
  std::lock_guard<std::mutex> lock(mu_);
  leader_ = std::move(id);
  leading_ = self;
}

void Elector::Run() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      step_down_ = false;
    }
    Term term;
    bool retry_now = false;
    if (Campaign(&term, &retry_now)) {
      if (Lead(term)) return;
      continue;
    }
    if (retry_now) continue;
    // Campaign recorded the revision it saw the key at in term.create_revision (see there).
    WaitForVacancy(term.create_revision);
  }
}

bool Elector::Campaign(Term* term, bool* retry_now) {
  if (options_.defer_campaign && options_.defer_campaign()) {
    std::unique_lock<std::mutex> lock(mu_);
    if (clock_.WaitFor(cv_, lock, options_.defer_period, [this] { return stopping_; })) {
      term->create_revision = 0;
      return false;
    }
  }
  const SteadyTime granted_at = clock_.SteadyNow();
  StatusOr<int64_t> lease = client_.LeaseGrant(options_.ttl);
  if (!lease.ok()) {
    spdlog::warn("election: cannot get a lease: {}", lease.status().ToString());
    term->create_revision = 0;
    return false;
  }
  StatusOr<etcd::TxnResult> r =
      client_.Txn({etcd::KeyAbsent(options_.key)},
                  {Op::Put(options_.key, options_.candidate, *lease)}, {Op::Get(options_.key)});
  if (r.ok() && r->succeeded) {
    term->lease = *lease;
    term->create_revision = r->revision;
    term->deadline = granted_at + options_.ttl;
    SetLeader(options_.candidate, true);
    spdlog::info("election: this manager ({}) is the leader (term {})", options_.candidate,
                 r->revision);
    return true;
  }
  // Not ours: the lease is of no use (revoking it is only tidiness; it expires anyway).
  (void)client_.LeaseRevoke(*lease);
  if (!r.ok()) {
    spdlog::warn("election: campaign failed: {}", r.status().ToString());
    term->create_revision = 0;
    return false;
  }
  term->create_revision = r->revision;  // WaitForVacancy watches from after this
  if (r->ranges.empty() || r->ranges.front().empty()) {
    *retry_now = true;  // the key vanished between the compare and the read: cannot happen
    return false;
  }
  const etcd::KeyValue& held = r->ranges.front().front();
  if (held.value == options_.candidate) {
    // Our own previous run's key (its process is gone): remove it rather than wait for its
    // lease. Only that exact version of the key is deleted.
    StatusOr<etcd::TxnResult> d =
        client_.Txn({Compare{options_.key, Compare::Target::kModRevision, Compare::Result::kEqual,
                             held.mod_revision, ""}},
                    {Op::Delete(options_.key)}, {});
    if (d.ok()) {
      spdlog::info("election: removed the leader key left by this manager's previous run");
      *retry_now = true;
      return false;
    }
  }
  SetLeader(held.value, false);
  return false;
}

void Elector::WaitForVacancy(int64_t after_revision) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    key_changed_ = false;
  }
  std::unique_ptr<etcd::Watch> watch;
  if (after_revision > 0) {
    etcd::WatchCallbacks cb;
    cb.on_events = [this](const std::vector<etcd::WatchEvent>&, int64_t) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        key_changed_ = true;
      }
      cv_.notify_all();
    };
    cb.on_error = [this](const Status&) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        key_changed_ = true;  // look again rather than trust a dead watch
      }
      cv_.notify_all();
    };
    StatusOr<std::unique_ptr<etcd::Watch>> w =
        client_.WatchRange(options_.key, "", after_revision + 1, std::move(cb));
    if (w.ok()) watch = *std::move(w);
  }
  // Without a watch, look again after retry_period; with one, after a TTL at the latest.
  const auto wait = watch ? std::max<std::chrono::nanoseconds>(options_.ttl, options_.retry_period)
                          : std::chrono::nanoseconds(options_.retry_period);
  std::unique_lock<std::mutex> lock(mu_);
  clock_.WaitFor(cv_, lock, wait, [this] { return stopping_ || key_changed_; });
  lock.unlock();
  watch.reset();  // joins the watch's thread; its callbacks take mu_
}

bool Elector::Sleep(SteadyTime deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  clock_.WaitUntil(cv_, lock, deadline, [this] { return stopping_ || step_down_ || key_changed_; });
  return !stopping_;
}

bool Elector::Lead(Term& term) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    key_changed_ = false;
  }
  // Any event on the key after our create (a delete: the lease ended; a put: someone else's)
  // ends the term.
  etcd::WatchCallbacks cb;
  cb.on_events = [this](const std::vector<etcd::WatchEvent>&, int64_t) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      key_changed_ = true;
    }
    cv_.notify_all();
  };
  cb.on_error = [](const Status& s) {
    // The keepalives still decide; a watch is only the fast path.
    spdlog::debug("election: the leader's watch ended: {}", s.ToString());
  };
  StatusOr<std::unique_ptr<etcd::Watch>> watch =
      client_.WatchRange(options_.key, "", term.create_revision + 1, std::move(cb));

  if (callbacks_.on_elected) {
    callbacks_.on_elected(store::Fence{options_.key, term.create_revision});
  }
  bool resign = false;
  std::string why;
  SteadyTime next = clock_.SteadyNow() + options_.keepalive_period;
  while (true) {
    if (!Sleep(std::min(next, term.deadline))) {
      resign = true;
      why = "this manager stops";
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (step_down_) {
        why = "its leader work was refused by the fence";
        break;
      }
      if (key_changed_) {
        why = "the leader key changed";
        break;
      }
    }
    const SteadyTime sent = clock_.SteadyNow();
    if (sent >= term.deadline) {
      why = "no keepalive succeeded for a lease TTL";
      break;
    }
    if (sent < next) continue;
    next = sent + options_.keepalive_period;
    Status s = client_.LeaseKeepAliveOnce(term.lease);
    if (s.ok()) {
      term.deadline = sent + options_.ttl;
    } else if (s.code() == absl::StatusCode::kNotFound) {
      why = "its lease expired";
      break;
    } else {
      spdlog::warn("election: keepalive failed: {}", s.ToString());
    }
  }
  SetLeader("", false);
  spdlog::info("election: this manager ({}) is no longer the leader: {}", options_.candidate, why);
  if (callbacks_.on_lost) callbacks_.on_lost();
  if (watch.ok()) watch->reset();
  // Revoking the lease deletes the key with it (if it is still ours), so the next leader need
  // not wait for the TTL. Best effort: an expired lease is NotFound, an unreachable etcd lets
  // it expire by itself.
  Status revoked = client_.LeaseRevoke(term.lease);
  if (!revoked.ok() && revoked.code() != absl::StatusCode::kNotFound) {
    spdlog::warn("election: resigning: {}", revoked.ToString());
  }
  return resign;
}

}  // namespace capsule::election
