// Cuts one output stream of a task into log lines: at each '\n' (kept in the line), and at
// kMaxLogLine bytes for longer lines; what is left at end of stream is a last line without
// '\n'. Not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace capsule::agent {

class LineSplitter {
 public:
  using Emit = std::function<void(std::string line)>;
  explicit LineSplitter(Emit emit) : emit_(std::move(emit)) {}

  void Feed(std::string_view bytes);
  // End of stream: emits a pending partial line.
  void Finish();

 private:
  Emit emit_;
  std::string pending_;
};

}  // namespace capsule::agent
