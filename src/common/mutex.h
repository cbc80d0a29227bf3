// A std::mutex that clang's thread-safety analysis (-Wthread-safety) understands.
//
// libstdc++'s std::mutex and std::lock_guard carry no capability annotations, so
// ABSL_GUARDED_BY(mu_) on a std::mutex makes clang warn instead of check. Mutex wraps a
// std::mutex and is annotated ABSL_LOCKABLE; MutexLock is the scoped lock (ABSL_SCOPED_LOCKABLE).
// We wrap std::mutex rather than switch to absl::Mutex/absl::CondVar so behaviour stays exactly
// as before: the condition variables stay std::condition_variable, and Clock::WaitUntil keeps
// taking a std::unique_lock<std::mutex> — MutexLock::native() hands out the one it holds.
//
// Usage:
//   Mutex mu_;
//   bool stopping_ ABSL_GUARDED_BY(mu_) = false;
//   MutexLock lock(mu_);
//   cv_.wait(lock.native(), [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_; });
//   lock.Unlock();  ...  lock.Lock();   // the analysis follows these
// A wait through native() releases and retakes the mutex inside the wait; the analysis treats
// it as held throughout, as it is whenever the caller's code runs.
//
// Under gcc the annotations compile to nothing; scripts/thread-safety-check.sh runs the check.

#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace capsule {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

  // The wrapped mutex, for code that needs a std::unique_lock<std::mutex> of its own (a
  // condition variable owned elsewhere); such code is not checked by the analysis.
  std::mutex& native() ABSL_LOCK_RETURNED(this) { return mu_; }

 private:
  std::mutex mu_;
};

// Holds `mu` from construction to destruction (or across Unlock()/Lock() pairs).
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : lock_(mu.native()) {}
  ~MutexLock() ABSL_UNLOCK_FUNCTION() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { lock_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { lock_.unlock(); }

  // For std::condition_variable waits and Clock::WaitUntil.
  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace capsule
