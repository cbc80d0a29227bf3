// Positive control for scripts/thread-safety-check.sh: reads a guarded member without its
// mutex, which the check must reject ("requires holding mutex").
#include "common/mutex.h"

namespace capsule {

class Counter {
 public:
  void Increment() {
    MutexLock lock(mu_);
    ++value_;
  }
  int UnguardedRead() const { return value_; }  // the bug the check must catch

 private:
  Mutex mu_;
  int value_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace capsule
