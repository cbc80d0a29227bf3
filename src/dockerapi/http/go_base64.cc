#include "dockerapi/http/go_base64.h"

#include <array>
#include <string>

namespace capsule::http {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kInvalid = 0xff;

constexpr std::array<uint8_t, 256> MakeDecodeMap() {
  std::array<uint8_t, 256> map{};
  for (auto& v : map) v = kInvalid;
  for (int i = 0; i < 64; ++i) map[static_cast<uint8_t>(kAlphabet[i])] = static_cast<uint8_t>(i);
  return map;
}
constexpr std::array<uint8_t, 256> kDecodeMap = MakeDecodeMap();

Status Corrupt(size_t offset) {
  return absl::InvalidArgumentError("illegal base64 data at input byte " + std::to_string(offset));
}

bool IsNewline(char c) { return c == '\n' || c == '\r'; }

// One 4-character quantum, a line-for-line port of Go's (*Encoding).decodeQuantum for a
// padded, non-strict encoding. Advances *si, appends 0..3 bytes to dst at *n.
Status DecodeQuantum(const std::string& src, size_t* si, uint8_t* dst, size_t* n) {
  uint8_t dbuf[4] = {0, 0, 0, 0};
  int dlen = 4;
  Status status;
  for (int j = 0; j < 4; ++j) {
    if (*si == src.size()) {
      // Input ended inside a quantum: the padded encoding requires a full quantum.
      if (j == 0) return absl::OkStatus();
      return Corrupt(*si - j);
    }
    const char in = src[*si];
    ++*si;
    const uint8_t out = kDecodeMap[static_cast<uint8_t>(in)];
    if (out != kInvalid) {
      dbuf[j] = out;
      continue;
    }
    if (IsNewline(in)) {
      --j;
      continue;
    }
    if (in != '=') return Corrupt(*si - 1);
    // Padding.
    switch (j) {
      case 0:
      case 1:
        return Corrupt(*si - 1);
      case 2:
        while (*si < src.size() && IsNewline(src[*si])) ++*si;
        if (*si == src.size()) return Corrupt(src.size());
        if (src[*si] != '=') return Corrupt(*si - 1);
        ++*si;
        break;
      default:
        break;
    }
    while (*si < src.size() && IsNewline(src[*si])) ++*si;
    if (*si < src.size()) status = Corrupt(*si);  // trailing garbage
    dlen = j;
    break;
  }
  const uint32_t val = (uint32_t{dbuf[0]} << 18) | (uint32_t{dbuf[1]} << 12) |
                       (uint32_t{dbuf[2]} << 6) | uint32_t{dbuf[3]};
  const uint8_t bytes[3] = {static_cast<uint8_t>(val >> 16), static_cast<uint8_t>(val >> 8),
                            static_cast<uint8_t>(val)};
  for (int k = 0; k < dlen - 1; ++k) dst[(*n)++] = bytes[k];
  return status;
}

}  // namespace

StatusOr<SecretBytes> DecodeStdBase64(const std::string& in) {
  SecretBytes out((in.size() / 4) * 3);
  size_t si = 0;
  size_t n = 0;
  while (si < in.size()) {
    Status status = DecodeQuantum(in, &si, out.data(), &n);
    if (!status.ok()) return status;  // `out` wipes itself
  }
  out.Truncate(n);
  return out;
}

std::string EncodeStdBase64(std::span<const uint8_t> in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (rest == 2) v |= uint32_t{in[i + 1]} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace capsule::http
