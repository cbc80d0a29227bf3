// Cuts one output stream of a task into log lines: at each '\n' (kept in the line), and at
// kMaxLogLine bytes for longer lines (those pieces have no '\n', as Docker's partial messages).
// A partial line — output without its '\n' yet — is completed with a '\n' and emitted once the
// stream has been quiet for `idle` since its last bytes, or when the stream ends: so a task that
// prints "first", then later "second", shows two lines, not one run together. Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace capsule::agent {

// How long a partial line waits for the rest of it.
inline constexpr std::chrono::milliseconds kPartialLineIdle{1000};

class LineSplitter {
 public:
  using Emit = std::function<void(std::string line)>;
  using Instant = std::chrono::steady_clock::time_point;

  explicit LineSplitter(Emit emit, std::chrono::milliseconds idle = kPartialLineIdle)
      : emit_(std::move(emit)), idle_(idle) {}

  // `now`: when the bytes were read.
  void Feed(std::string_view bytes, Instant now);
  // When the pending partial line is to be completed (nullopt: nothing pending).
  std::optional<Instant> Due() const;
  // Completes and emits the pending partial line if it is due at `now`.
  void FlushIfDue(Instant now);
  // End of stream: completes and emits a pending partial line.
  void Finish();

 private:
  void Complete();

  Emit emit_;
  const std::chrono::milliseconds idle_;
  std::string pending_;
  Instant last_bytes_{};
};

}  // namespace capsule::agent
