#include "agent/shim/line_splitter.h"

#include "agent/executor/log_codec.h"

namespace capsule::agent {

void LineSplitter::Feed(std::string_view bytes, Instant now) {
  if (!bytes.empty()) last_bytes_ = now;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const size_t take = nl == std::string_view::npos ? bytes.size() : nl + 1;
    const size_t room = kMaxLogLine - pending_.size();
    if (take > room) {
      pending_.append(bytes.substr(0, room));
      bytes.remove_prefix(room);
      emit_(std::move(pending_));
      pending_.clear();
      continue;
    }
    pending_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (nl != std::string_view::npos) {
      emit_(std::move(pending_));
      pending_.clear();
    }
  }
}

std::optional<LineSplitter::Instant> LineSplitter::Due() const {
  if (pending_.empty()) return std::nullopt;
  return last_bytes_ + idle_;
}

void LineSplitter::FlushIfDue(Instant now) {
  if (!pending_.empty() && now >= last_bytes_ + idle_) Complete();
}

void LineSplitter::Finish() {
  if (!pending_.empty()) Complete();
}

void LineSplitter::Complete() {
  pending_ += '\n';
  emit_(std::move(pending_));
  pending_.clear();
}

}  // namespace capsule::agent
