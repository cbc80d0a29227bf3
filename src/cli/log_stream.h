// Docker's multiplexed log stream (stdcopy): frames of an 8-byte header — stream byte
// (0 stdin, 1 stdout, 2 stderr, 3 a daemon error), three zero bytes, big-endian uint32
// payload length — then the payload. Bytes may arrive in any pieces.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace capsule::cli {

class LogDemuxer {
 public:
  // Receives each complete frame: stream 1 (stdout) or 2 (stderr) and its payload.
  using FrameFn = std::function<Status(int stream, std::string_view payload)>;
  explicit LogDemuxer(FrameFn on_frame) : on_frame_(std::move(on_frame)) {}

  // Feeds more bytes. Errors: the callback's, "error from daemon in stream: <payload>" for
  // stream 3, "Unrecognized input header: N" for other stream bytes.
  Status Feed(std::string_view data);

  // Whether a partial frame is still buffered (the stream ended mid-frame).
  bool pending() const { return !buffer_.empty(); }

 private:
  FrameFn on_frame_;
  std::string buffer_;
};

}  // namespace capsule::cli
