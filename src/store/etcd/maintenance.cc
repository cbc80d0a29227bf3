#include "store/etcd/maintenance.h"

#include <spdlog/spdlog.h>

namespace capsule::etcd {

Maintainer::Maintainer(Client& client, const Clock& clock, MaintenanceOptions options)
    : client_(client), clock_(clock), options_(options) {}

Maintainer::~Maintainer() { Stop(); }

void Maintainer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Maintainer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Maintainer::Run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
      if (stopping_) return;
    }
    StatusOr<Check> check = RunOnce();
    if (!check.ok()) spdlog::warn("etcd maintenance: {}", check.status().ToString());
  }
}

StatusOr<Maintainer::Check> Maintainer::RunOnce() {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  Check check;
  ASSIGN_OR_RETURN(check.before, client_.GetStatus());
  const TimePoint now = clock_.Now();
  revisions_.emplace_back(now, check.before.revision);

  // The newest revision seen at least `retention` ago: history before it goes.
  int64_t target = 0;
  while (!revisions_.empty() && revisions_.front().first <= now - options_.retention) {
    target = revisions_.front().second;
    revisions_.pop_front();
  }
  if (target > compacted_) {
    Status s = client_.Compact(target, /*physical=*/true);
    if (s.ok()) {
      check.compacted_to = target;
      spdlog::debug("etcd maintenance: compacted to revision {}", target);
    } else if (s.code() != StatusCode::kOutOfRange) {
      return s;  // tried again at the next check (target is recorded below only on success)
    }
    compacted_ = target;
  }

  ASSIGN_OR_RETURN(EndpointStatus status, client_.GetStatus());
  check.after = status;
  const bool due = !last_defrag_ || now - *last_defrag_ >= options_.defrag_min_gap;
  if (due && status.db_size >= options_.defrag_min_bytes &&
      status.db_size > 2 * status.db_size_in_use) {
    last_defrag_ = now;
    RETURN_IF_ERROR(client_.Defragment(options_.defrag_timeout));
    ASSIGN_OR_RETURN(check.after, client_.GetStatus());
    check.defragmented = true;
    spdlog::info("etcd maintenance: defragmented the backend: {} → {} bytes ({} in use)",
                 status.db_size, check.after.db_size, check.after.db_size_in_use);
  }
  return check;
}

}  // namespace capsule::etcd
