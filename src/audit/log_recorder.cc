#include "audit/log_recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

namespace capsule::audit {
namespace {

// 8 hex digits, new for every recorder: a restarted manager whose wall clock went back never
// writes a key the previous run wrote.
std::string RunId() {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(rd()));
  return buf;
}

}  // namespace

LogRecorder::LogRecorder(Log& log, const Clock& clock, RecorderOptions options)
    : log_(log),
      clock_(clock),
      options_(std::move(options)),
      trim_every_(options_.trim_every > 0 ? options_.trim_every
                                          : std::max<size_t>(1, options_.max_entries / 10)),
      key_writer_(options_.writer + "." + RunId()) {}

LogRecorder::~LogRecorder() { Stop(); }

void LogRecorder::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void LogRecorder::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LogRecorder::Record(Event event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= options_.queue_limit) {
      ++dropped_;
      spdlog::error("audit: queue full, event dropped ({} {} id={}; {} dropped so far)",
                    ActionName(event.action), event.secret_name, event.secret_id, dropped_);
      return;
    }
    Stamp(event);
    queue_.push_back(std::move(event));
  }
  cv_.notify_all();
}

std::optional<StoredEvent> LogRecorder::Attach(Event event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Stamp(event);
  }
  return log_.Stored(event);  // the JSON is made outside the lock
}

void LogRecorder::Attached(size_t committed) {
  if (committed == 0) return;
  bool due = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    since_trim_ += committed;
    due = TrimDue();
  }
  if (due) cv_.notify_all();
}

void LogRecorder::Stamp(Event& event) {
  if (event.time == TimePoint{}) event.time = clock_.Now();
  // Keys increase in record order even if the wall clock steps back.
  last_nanos_ = std::max(last_nanos_, UnixNanos(event.time));
  event.recorded_by = options_.writer;
  event.key = EventKey(last_nanos_, key_writer_, seq_++);
}

size_t LogRecorder::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

size_t LogRecorder::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

bool LogRecorder::AppendSome(std::unique_lock<std::mutex>& lock) {
  const size_t n = std::min(queue_.size(), kMaxAppend);
  std::vector<Event> batch(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  lock.unlock();
  Status s = log_.Append(batch);
  lock.lock();
  if (!s.ok()) {
    spdlog::warn("audit: cannot append {} event(s), retrying: {}", n, s.ToString());
    return false;
  }
  // Only this thread removes from the queue; Record only adds at the back.
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  since_trim_ += n;
  return true;
}

bool LogRecorder::TrimDue() const {
  return since_trim_ > 0 && (!trimmed_once_ || since_trim_ >= trim_every_);
}

bool LogRecorder::Trim(std::unique_lock<std::mutex>& lock) {
  const size_t counted = since_trim_;
  lock.unlock();
  StatusOr<size_t> dropped = log_.Trim(options_.max_entries);
  lock.lock();
  if (!dropped.ok()) {
    spdlog::warn("audit: trim failed (tried again later): {}", dropped.status().ToString());
    return false;
  }
  trimmed_once_ = true;
  since_trim_ -= counted;  // events stored meanwhile count toward the next trim
  if (*dropped > 0) spdlog::info("audit: trimmed {} oldest event(s)", *dropped);
  return true;
}

void LogRecorder::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    clock_.WaitFor(cv_, lock, std::chrono::hours(1),
                   [this] { return stopping_ || !queue_.empty() || TrimDue(); });
    if (stopping_) break;
    bool ok = queue_.empty() || AppendSome(lock);
    if (ok && TrimDue()) ok = Trim(lock);
    if (!ok) clock_.WaitFor(cv_, lock, options_.retry_backoff, [this] { return stopping_; });
  }
  // Stopping: one last try for what is queued.
  while (!queue_.empty()) {
    if (!AppendSome(lock)) {
      spdlog::error("audit: {} event(s) not written at shutdown", queue_.size());
      break;
    }
  }
}

}  // namespace capsule::audit
