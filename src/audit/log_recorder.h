// The real Recorder: Record() stamps the event (time from the injected clock, this manager's
// node ID, an ordered key: EventKey(time, "<node ID>.<run ID>", sequence), where the run ID is
// random per recorder and time never goes back within one) and queues it; one background thread
// appends queued events to the Log in batches (up to kMaxAppend per append, as soon as they are
// queued: no timer) and trims the log back to max_entries once every trim_every stored events
// (and after its first, so a lowered limit applies at start). So the log holds at least the
// newest max_entries events and at most max_entries + trim_every.
//
// Attach() stamps an event the same way and hands it back as the log stores it, for a change
// that writes its event in its own Txn (the secret create: controlapi/audited_write.h); the
// thread never sees it. Attached(n) counts such events for trimming (a trim is the thread's
// work, never the caller's).
//
// Record never blocks on the store and never fails. When the store cannot be reached the
// events stay queued and the append is retried every retry_backoff; more than queue_limit
// queued events → the newest are dropped (counted, logged as errors). A failed trim is tried
// again after retry_backoff. Stop() makes one last attempt to write what is queued, then joins
// the thread.
//
// What may be lost: events queued in a manager that dies before its thread appended them
// (an append follows a Record within one etcd round trip), and events dropped past
// queue_limit. An attached event is never lost once its change is committed (same Txn).
// Thread-safe; the log and clock must outlive the recorder.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "audit/log.h"
#include "audit/recorder.h"
#include "common/clock.h"

namespace capsule::audit {

inline constexpr size_t kDefaultMaxEntries = 10000;
// capsuled refuses a larger --audit-max-entries: a trim reads every key (≈100 bytes each)
// in one etcd answer.
inline constexpr size_t kMaxMaxEntries = 200000;

struct RecorderOptions {
  std::string writer;  // this manager's node ID (Event::recorded_by, part of every key)
  size_t max_entries = kDefaultMaxEntries;
  size_t trim_every = 0;  // 0: max_entries / 10 (at least 1)
  size_t queue_limit = 10000;
  std::chrono::milliseconds retry_backoff{1000};
};

class LogRecorder : public Recorder {
 public:
  LogRecorder(Log& log, const Clock& clock, RecorderOptions options);
  ~LogRecorder() override;  // Stop()

  void Start();
  // One last append of what is queued (no retry), then joins the thread. Idempotent.
  void Stop();

  void Record(Event event) override;
  std::optional<StoredEvent> Attach(Event event) override;
  void Attached(size_t committed) override;

  size_t queued() const;   // recorded, not yet appended
  size_t dropped() const;  // refused past queue_limit

 private:
  void Run();
  // With mu_ held: sets time (if unset), recorded_by and the next key.
  void Stamp(Event& event);
  // Appends up to kMaxAppend queued events (the lock is released meanwhile); false on error.
  bool AppendSome(std::unique_lock<std::mutex>& lock);
  // With mu_ held: whether enough events were stored since the last trim.
  bool TrimDue() const;
  // Trims (the lock is released meanwhile); false on error.
  bool Trim(std::unique_lock<std::mutex>& lock);

  Log& log_;
  const Clock& clock_;
  const RecorderOptions options_;
  const size_t trim_every_;
  const std::string key_writer_;  // "<writer>.<run ID>" in keys
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;
  int64_t last_nanos_ = 0;
  uint64_t seq_ = 0;
  size_t dropped_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  size_t since_trim_ = 0;  // events stored (appended or attached) since the last trim
  bool trimmed_once_ = false;
  std::thread thread_;
};

}  // namespace capsule::audit
