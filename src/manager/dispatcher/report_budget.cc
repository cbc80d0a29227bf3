#include "manager/dispatcher/report_budget.h"

#include <algorithm>
#include <chrono>

namespace capsule::dispatcher {

ReportBudget::ReportBudget(const Clock& clock, ReportBudgetOptions options)
    : clock_(clock), options_(options) {}

void ReportBudget::Refill(Bucket& b, SteadyTime now) const {
  double seconds = std::chrono::duration<double>(now - b.refilled).count();
  if (seconds > 0) b.tokens = std::min(options_.burst, b.tokens + seconds * options_.per_second);
  b.refilled = now;
}

bool ReportBudget::Take(const std::string& node_id, int updates) {
  SteadyTime now = clock_.SteadyNow();
  MutexLock lock(mu_);
  auto it = buckets_.find(node_id);
  if (it == buckets_.end()) {
    if (buckets_.size() >= options_.max_nodes) {
      // Forget buckets that have refilled: they hold no history worth keeping.
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        Refill(b->second, now);
        b = b->second.tokens >= options_.burst ? buckets_.erase(b) : std::next(b);
      }
    }
    it = buckets_.emplace(node_id, Bucket{options_.burst, now}).first;
  }
  Bucket& b = it->second;
  Refill(b, now);
  if (updates < 0 || b.tokens < updates) return false;
  b.tokens -= updates;
  return true;
}

}  // namespace capsule::dispatcher
