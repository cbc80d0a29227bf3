#include "cli/log_stream.h"

#include "absl/strings/str_cat.h"

namespace capsule::cli {

Status LogDemuxer::Feed(std::string_view data) {
  buffer_.append(data);
  size_t pos = 0;
  constexpr size_t kHeader = 8;
  Status status;
  while (buffer_.size() - pos >= kHeader) {
    const auto* h = reinterpret_cast<const unsigned char*>(buffer_.data() + pos);
    const size_t length = (size_t{h[4]} << 24) | (size_t{h[5]} << 16) | (size_t{h[6]} << 8) | h[7];
    if (buffer_.size() - pos - kHeader < length) break;
    const std::string_view payload(buffer_.data() + pos + kHeader, length);
    const int stream = h[0];
    pos += kHeader + length;
    if (stream == 3) {
      status =
          absl::UnknownError(absl::StrCat("error from daemon in stream: ", std::string(payload)));
    } else if (stream != 0 && stream != 1 && stream != 2) {
      status = absl::DataLossError(absl::StrCat("Unrecognized input header: ", stream));
    } else {
      status = on_frame_(stream == 2 ? 2 : 1, payload);
    }
    if (!status.ok()) break;
  }
  buffer_.erase(0, pos);
  return status;
}

}  // namespace capsule::cli
