#include "audit/memory_log.h"

namespace capsule::audit {

Status MemoryLog::Append(const std::vector<Event>& events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fail_appends_) return absl::UnavailableError("memory log: appends fail");
  for (const Event& e : events) {
    if (e.key.empty()) return absl::InvalidArgumentError("audit event without a key");
  }
  for (const Event& e : events) events_[e.key] = e;
  ++appends_;
  return absl::OkStatus();
}

StatusOr<std::vector<Event>> MemoryLog::ReadSince(TimePoint since) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> out;
  for (auto it = events_.lower_bound(KeyAtOrAfter(since)); it != events_.end(); ++it) {
    out.push_back(it->second);
  }
  return out;
}

StatusOr<size_t> MemoryLog::Trim(size_t keep) {
  std::lock_guard<std::mutex> lock(mu_);
  ++trims_;
  if (fail_trims_) return absl::UnavailableError("memory log: trims fail");
  size_t dropped = 0;
  while (events_.size() > keep) {
    events_.erase(events_.begin());
    ++dropped;
  }
  return dropped;
}

std::optional<StoredEvent> MemoryLog::Stored(const Event& event) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!stored_by_caller_) return std::nullopt;
  return StoredEvent{event.key, EncodeEvent(event)};
}

void MemoryLog::set_stored_by_caller(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  stored_by_caller_ = on;
}

Status MemoryLog::Put(const StoredEvent& stored) {
  ASSIGN_OR_RETURN(Event e, DecodeEvent(stored.value));
  e.key = stored.key;
  std::lock_guard<std::mutex> lock(mu_);
  events_[e.key] = std::move(e);
  return absl::OkStatus();
}

void MemoryLog::set_fail_trims(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_trims_ = fail;
}

void MemoryLog::set_fail_appends(bool fail) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_appends_ = fail;
}

size_t MemoryLog::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return events_.size();
}

size_t MemoryLog::appends() const {
  std::lock_guard<std::mutex> lock(mu_);
  return appends_;
}

size_t MemoryLog::trims() const {
  std::lock_guard<std::mutex> lock(mu_);
  return trims_;
}

}  // namespace capsule::audit
