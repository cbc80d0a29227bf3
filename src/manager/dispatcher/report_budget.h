// How many task status updates each node may send: a token bucket per node on the injected
// Clock's steady time. A node starts with `burst` updates and earns `per_second` more each
// second, up to `burst`; a batch that needs more than the node holds is refused whole and
// takes nothing (the agent keeps its reports and resends them later). With the defaults a
// worker can report 1000 updates at once and 50 a second after that, so a hostile worker
// cannot turn the manager's store into a write pump. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/mutex.h"

namespace capsule::dispatcher {

struct ReportBudgetOptions {
  double burst = 1000;        // also the most updates one batch may carry
  double per_second = 50;     // sustained rate
  size_t max_nodes = 100000;  // buckets kept; beyond it, full buckets are forgotten first
};

class ReportBudget {
 public:
  // `clock` must outlive the budget.
  explicit ReportBudget(const Clock& clock, ReportBudgetOptions options = {});

  // Takes `updates` from node_id's bucket: false (and nothing taken) when it holds fewer.
  bool Take(const std::string& node_id, int updates);

 private:
  struct Bucket {
    double tokens = 0;
    SteadyTime refilled{};
  };
  void Refill(Bucket& b, SteadyTime now) const;

  const Clock& clock_;
  const ReportBudgetOptions options_;
  Mutex mu_;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace capsule::dispatcher
