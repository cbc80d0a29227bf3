#include "common/ids.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

namespace capsule {

std::string Base36(std::span<const uint8_t> big_endian, size_t width) {
  std::vector<uint8_t> num(big_endian.begin(), big_endian.end());
  std::string out;
  auto is_zero = [&] { return std::all_of(num.begin(), num.end(), [](uint8_t b) { return b == 0; }); };
  while (!is_zero()) {
    unsigned rem = 0;
    for (auto& b : num) {
      unsigned cur = (rem << 8) | b;
      b = static_cast<uint8_t>(cur / 36);
      rem = cur % 36;
    }
    out.push_back("0123456789abcdefghijklmnopqrstuvwxyz"[rem]);
  }
  while (out.size() < width) out.push_back('0');
  std::reverse(out.begin(), out.end());
  return out;
}

std::string NewId() {
  uint8_t raw[16];
  randombytes_buf(raw, sizeof(raw));
  return Base36(raw, 25);
}

bool IsValidId(std::string_view s) {
  return s.size() == 25 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
         });
}

}  // namespace capsule
