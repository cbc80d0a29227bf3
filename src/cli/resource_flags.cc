#include "cli/resource_flags.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "absl/strings/str_cat.h"
#include "cli/go_format.h"

namespace capsule::cli {
namespace {

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// digits * 10^scale, exact; nullopt when not whole or beyond int64.
std::optional<int64_t> ScaleDigits(std::string digits, int scale) {
  if (scale < 0) {
    const size_t drop = static_cast<size_t>(-static_cast<int64_t>(scale));
    const size_t keep = digits.size() > drop ? digits.size() - drop : 0;
    if (digits.find_first_not_of('0', keep) != std::string::npos) return std::nullopt;
    digits.resize(keep);
  } else {
    const bool zero = digits.find_first_not_of('0') == std::string::npos;
    if (zero) return 0;
    if (scale > 19) return std::nullopt;
    digits.append(static_cast<size_t>(scale), '0');
  }
  const size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return 0;
  digits = digits.substr(first);
  if (digits.size() > 19) return std::nullopt;
  StatusOr<uint64_t> v = ParseGoUint(digits, 10);
  if (!v.ok() || *v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(*v);
}

}  // namespace

StatusOr<int64_t> ParseRamInBytes(const std::string& s) {
  const auto invalid = [&] { return absl::InvalidArgumentError("invalid size: '" + s + "'"); };
  size_t i = 0;
  auto digits = [&] {
    const size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i > start;
  };
  if (!digits()) return invalid();
  while (i < s.size() && s[i] == '.') {
    ++i;
    if (!digits()) return invalid();
  }
  const std::string number = s.substr(0, i);
  if (i < s.size() && s[i] == ' ') ++i;
  double mul = 1;
  if (i < s.size()) {
    const char u = static_cast<char>(std::tolower(static_cast<unsigned char>(s[i])));
    const std::string units = "kmgtp";
    const size_t at = units.find(u);
    if (at != std::string::npos) {
      mul = std::pow(1024.0, static_cast<double>(at + 1));
      ++i;
    }
  }
  if (i < s.size() && (s[i] == 'i' || s[i] == 'I')) ++i;
  if (i < s.size() && (s[i] == 'b' || s[i] == 'B')) ++i;
  if (i != s.size()) return invalid();
  if (number.find('.') != number.rfind('.')) {  // "1.2.3" matches, then ParseFloat fails
    return absl::InvalidArgumentError(
        absl::StrCat("strconv.ParseFloat: parsing \"", number, "\": invalid syntax"));
  }
  const double size = std::strtod(number.c_str(), nullptr) * mul;
  if (size >= 9.2233720368547758e18) return INT64_MIN;  // Go's int64() of a too large float
  return static_cast<int64_t>(size);
}

StatusOr<int64_t> ParseNanoCpus(const std::string& s) {
  const auto unparsable = [&] {
    return absl::InvalidArgumentError("failed to parse " + s + " as a rational number");
  };
  const auto too_precise = [] { return absl::InvalidArgumentError("value is too precise"); };
  std::string body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body = body.substr(1);
  }
  std::optional<int64_t> nano;
  const size_t slash = body.find('/');
  if (slash != std::string::npos) {
    const std::string num = body.substr(0, slash);
    const std::string den = body.substr(slash + 1);
    if (!AllDigits(num) || !AllDigits(den)) return unparsable();
    StatusOr<uint64_t> d = ParseGoUint(den, 10);
    if (!d.ok() || *d == 0) return unparsable();
    std::optional<int64_t> scaled = ScaleDigits(num, 9);
    if (!scaled) return too_precise();
    if (static_cast<uint64_t>(*scaled) % *d != 0) return too_precise();
    nano = static_cast<int64_t>(static_cast<uint64_t>(*scaled) / *d);
  } else {
    size_t e = body.find_first_of("eE");
    std::string mantissa = body.substr(0, e);
    int exp = 0;
    if (e != std::string::npos) {
      std::string es = body.substr(e + 1);
      bool eneg = false;
      if (!es.empty() && (es[0] == '-' || es[0] == '+')) {
        eneg = es[0] == '-';
        es = es.substr(1);
      }
      if (!AllDigits(es) || es.size() > 4) return unparsable();
      exp = std::atoi(es.c_str()) * (eneg ? -1 : 1);
    }
    const size_t dot = mantissa.find('.');
    std::string ip = mantissa.substr(0, dot);
    std::string fp = dot == std::string::npos ? "" : mantissa.substr(dot + 1);
    if (ip.empty() && fp.empty()) return unparsable();
    if ((!ip.empty() && !AllDigits(ip)) || (!fp.empty() && !AllDigits(fp))) return unparsable();
    nano = ScaleDigits(ip + fp, 9 + exp - static_cast<int>(fp.size()));
    if (!nano) return too_precise();
  }
  return negative ? -*nano : *nano;
}

StatusOr<int64_t> ParseGoInt64(const std::string& s) {
  std::string digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits = digits.substr(1);
  }
  StatusOr<uint64_t> v = ParseGoUint(digits, 0);
  const uint64_t limit = static_cast<uint64_t>(INT64_MAX) + (negative ? 1 : 0);
  if (!v.ok() && v.status().code() != absl::StatusCode::kOutOfRange) {
    return absl::InvalidArgumentError(
        absl::StrCat("strconv.ParseInt: parsing \"", s, "\": invalid syntax"));
  }
  if (!v.ok() || *v > limit) {
    return absl::OutOfRangeError(
        absl::StrCat("strconv.ParseInt: parsing \"", s, "\": value out of range"));
  }
  return negative ? static_cast<int64_t>(0 - *v) : static_cast<int64_t>(*v);
}

}  // namespace capsule::cli
