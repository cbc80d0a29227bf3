#include "cli/go_format.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace capsule::cli {
namespace {

// Writes the fraction v % 10^prec without trailing zeros (".5"), or nothing; v /= 10^prec.
std::string Frac(uint64_t& v, int prec) {
  std::string digits;
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const uint64_t digit = v % 10;
    print = print || digit != 0;
    if (print) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    v /= 10;
  }
  return print ? "." + digits : "";
}

}  // namespace

std::string FormatGoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  const bool neg = ns < 0;
  uint64_t u = neg ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  std::string out;
  if (u < 1000000000ULL) {
    int prec;
    std::string unit;
    if (u < 1000ULL) {
      prec = 0;
      unit = "ns";
    } else if (u < 1000000ULL) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    const std::string frac = Frac(u, prec);
    out = absl::StrCat(u, frac, unit);
  } else {
    const std::string frac = Frac(u, 9);
    out = absl::StrCat(u % 60, frac, "s");
    u /= 60;
    if (u > 0) {
      out = absl::StrCat(u % 60, "m", out);
      u /= 60;
      if (u > 0) out = absl::StrCat(u, "h", out);
    }
  }
  return neg ? "-" + out : out;
}

StatusOr<uint64_t> ParseGoUint(const std::string& s, int base, int bits) {
  auto syntax = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("strconv.ParseUint: parsing \"", s, "\": invalid syntax"));
  };
  std::string digits = s;
  if (base == 0) {
    base = 10;
    if (digits.size() > 1 && digits[0] == '0') {
      const char p = static_cast<char>(digits[1] | 0x20);
      if (p == 'x' || p == 'o' || p == 'b') {
        base = p == 'x' ? 16 : p == 'o' ? 8 : 2;
        digits = digits.substr(2);
      } else {
        base = 8;
        digits = digits.substr(1);
      }
    }
  }
  if (digits.empty()) return syntax();
  const uint64_t max = bits >= 64 ? std::numeric_limits<uint64_t>::max() : (1ULL << bits) - 1;
  uint64_t v = 0;
  bool overflow = false;
  for (char c : digits) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
      d = (c | 0x20) - 'a' + 10;
    } else if (c == '_') {
      return syntax();
    } else {
      return syntax();
    }
    if (d >= base) return syntax();
    if (v > (max - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) overflow = true;
    if (!overflow) v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (overflow) {
    return absl::OutOfRangeError(
        absl::StrCat("strconv.ParseUint: parsing \"", s, "\": value out of range"));
  }
  return v;
}

}  // namespace capsule::cli
