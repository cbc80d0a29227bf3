#include "cli/go_format.h"

#include <limits>
#include <map>

#include "absl/strings/str_cat.h"

namespace capsule::cli {
namespace {

Status InvalidDuration(const std::string& s) {
  return absl::InvalidArgumentError(absl::StrCat("time: invalid duration \"", s, "\""));
}

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

StatusOr<int64_t> ParseGoDuration(const std::string& orig) {
  static const std::map<std::string, double> kUnits = {
      {"ns", 1},   {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
      {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};
  std::string s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s = s.substr(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return InvalidDuration(orig);
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    const size_t start = i;
    double value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') value = value * 10 + (s[i++] - '0');
    const bool had_int = i > start;
    bool had_frac = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      double scale = 0.1;
      const size_t frac_start = i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        value += (s[i++] - '0') * scale;
        scale /= 10;
      }
      had_frac = i > frac_start;
    }
    if (!had_int && !had_frac) return InvalidDuration(orig);
    const size_t unit_start = i;
    while (i < s.size() && s[i] != '.' && (s[i] < '0' || s[i] > '9')) ++i;
    if (i == unit_start) {
      return absl::InvalidArgumentError(
          absl::StrCat("time: missing unit in duration \"", orig, "\""));
    }
    const std::string unit = s.substr(unit_start, i - unit_start);
    auto it = kUnits.find(unit);
    if (it == kUnits.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("time: unknown unit \"", unit, "\" in duration \"", orig, "\""));
    }
    total += value * it->second;
    if (total > static_cast<double>(std::numeric_limits<int64_t>::max())) {
      return InvalidDuration(orig);
    }
  }
  const int64_t ns = static_cast<int64_t>(total + 0.5);
  return neg ? -ns : ns;
}

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
