#include "testing/fake_clock.h"

#include <algorithm>
#include <vector>

namespace capsule::testing {

// One thread blocked in WaitUntil; lives on that thread's stack.
struct FakeClock::Waiter {
  SteadyTime deadline;
  std::condition_variable* cv;
  std::mutex* mu;       // the waiter's own mutex (held by it except while in cv->wait)
  bool due = false;     // guarded by FakeClock::mu_: Advance reached the deadline
  bool waking = false;  // guarded by FakeClock::mu_: Advance still uses cv and mu
};

FakeClock::FakeClock(TimePoint start) : now_(start), steady_(SteadyTime(std::chrono::hours(1))) {}

TimePoint FakeClock::Now() const {
  MutexLock lock(mu_);
  return now_;
}

SteadyTime FakeClock::SteadyNow() const {
  MutexLock lock(mu_);
  return steady_;
}

bool FakeClock::WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                          SteadyTime deadline, absl::FunctionRef<bool()> pred) const {
  if (pred()) return true;
  Waiter w{deadline, &cv, lock.mutex()};
  {
    MutexLock clock_lock(mu_);
    if (steady_ >= deadline) return false;
    waiters_.push_back(&w);
  }
  changed_.notify_all();
  // The caller's mutex is held from each check to cv.wait, and Advance sets `due` before it
  // takes that mutex to notify: a deadline reached in between is never missed.
  while (!pred()) {
    {
      MutexLock clock_lock(mu_);
      if (w.due) break;
    }
    cv.wait(lock);
  }
  MutexLock clock_lock(mu_);
  waiters_.remove(&w);
  if (w.waking) {
    // Advance is about to lock our mutex and notify `cv`: let it, then leave.
    lock.unlock();
    changed_.wait(clock_lock.native(), [&w] { return !w.waking; });
    clock_lock.Unlock();
    lock.lock();
  } else {
    clock_lock.Unlock();
  }
  changed_.notify_all();
  return pred();
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  std::vector<Waiter*> due;
  {
    MutexLock lock(mu_);
    now_ += std::chrono::duration_cast<TimePoint::duration>(d);
    steady_ += std::chrono::duration_cast<SteadyTime::duration>(d);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if ((*it)->deadline <= steady_) {
        (*it)->due = true;
        (*it)->waking = true;
        due.push_back(*it);
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  std::stable_sort(due.begin(), due.end(),
                   [](const Waiter* a, const Waiter* b) { return a->deadline < b->deadline; });
  for (Waiter* w : due) {
    // Taking the waiter's mutex waits until it is inside cv.wait (or has not checked `due`
    // yet), so the notification cannot fall between its check and its wait.
    { std::lock_guard<std::mutex> waiter_lock(*w->mu); }
    w->cv->notify_all();
    {
      MutexLock lock(mu_);
      w->waking = false;
    }
    changed_.notify_all();
  }
}

void FakeClock::SetNow(TimePoint t) {
  MutexLock lock(mu_);
  now_ = t;
}

size_t FakeClock::waiters() const {
  MutexLock lock(mu_);
  return waiters_.size();
}

bool FakeClock::AwaitWaiters(size_t n, std::chrono::milliseconds timeout) const {
  MutexLock lock(mu_);
  return changed_.wait_for(lock.native(), timeout, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return waiters_.size() >= n;
  });
}

}  // namespace capsule::testing
