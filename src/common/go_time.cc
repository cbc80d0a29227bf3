#include "common/go_time.h"

#include <time.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace capsule {
namespace {

Status InvalidDuration(const std::string& s) {
  return absl::InvalidArgumentError(absl::StrCat("time: invalid duration \"", s, "\""));
}

// Go's %q for the ASCII part of a string (bytes >= 0x80 are kept as they are).
std::string GoQuote(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// Reads exactly `n` digits at s[*i].
bool Digits(const std::string& s, size_t* i, size_t n, int* out) {
  if (*i + n > s.size()) return false;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    const char c = s[*i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysIn(int month, int year) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

// The layout GetTimestamp picks for `value` (how many clock fields follow the date).
enum class Fields { kNone, kHour, kMinute, kSecond };

// Parses `value` as the layout Docker's GetTimestamp chooses for it: a date, then (with a 'T')
// the clock fields the layout names, a fraction after the seconds, then a zone ("Z" or
// "±hh:mm") when `zoned`. nullopt when it does not fit.
std::optional<TimePoint> ParseDate(const std::string& value, bool zoned,
                                   std::chrono::seconds local_offset) {
  Fields fields = Fields::kNone;
  if (absl::StrContains(value, ".")) {
    fields = Fields::kSecond;
  } else if (absl::StrContains(value, "T")) {
    int colons = static_cast<int>(std::count(value.begin(), value.end(), ':'));
    // A "+hh:mm" zone brings a colon of its own.
    if (zoned && value.find_first_of("zZ") == std::string::npos && colons > 0) --colons;
    fields = colons == 0 ? Fields::kHour : colons == 1 ? Fields::kMinute : Fields::kSecond;
  }
  struct tm tm = {};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  int64_t nanos = 0;
  size_t i = 0;
  auto expect = [&](char c) {
    if (i >= value.size() || value[i] != c) return false;
    ++i;
    return true;
  };
  if (!Digits(value, &i, 4, &year) || !expect('-') || !Digits(value, &i, 2, &month) ||
      !expect('-') || !Digits(value, &i, 2, &day)) {
    return std::nullopt;
  }
  if (fields != Fields::kNone) {
    if (!expect('T') || !Digits(value, &i, 2, &hour)) return std::nullopt;
    if (fields >= Fields::kMinute && (!expect(':') || !Digits(value, &i, 2, &minute))) {
      return std::nullopt;
    }
    if (fields == Fields::kSecond) {
      if (!expect(':') || !Digits(value, &i, 2, &second)) return std::nullopt;
      if (i < value.size() && (value[i] == '.' || value[i] == ',') && i + 1 < value.size() &&
          value[i + 1] >= '0' && value[i + 1] <= '9') {
        ++i;
        int digits = 0;
        while (i < value.size() && value[i] >= '0' && value[i] <= '9') {
          if (digits < 9) {
            nanos = nanos * 10 + (value[i] - '0');
            ++digits;
          }
          ++i;
        }
        for (; digits < 9; ++digits) nanos *= 10;
      }
    }
  }
  int64_t offset = local_offset.count();
  if (zoned) {
    if (expect('Z')) {
      offset = 0;
    } else {
      if (i >= value.size() || (value[i] != '+' && value[i] != '-')) return std::nullopt;
      const int sign = value[i++] == '-' ? -1 : 1;
      int oh = 0, om = 0;
      if (!Digits(value, &i, 2, &oh) || !expect(':') || !Digits(value, &i, 2, &om)) {
        return std::nullopt;
      }
      offset = sign * (oh * 3600 + om * 60);
    }
  }
  if (i != value.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > DaysIn(month, year) || hour > 23 || minute > 59 ||
      second > 59) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t secs = static_cast<int64_t>(timegm(&tm)) - offset;
  return FromUnixNanos(secs * 1000000000 + nanos);
}

// Go's strconv.ParseInt(s, 10, 64).
std::optional<int64_t> ParseInt64(const std::string& s) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
  if (i == s.size()) return std::nullopt;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (neg ? 1 : 0)) {
      return std::nullopt;
    }
  }
  return neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

// Docker's parseTimestamp: "seconds[.fraction]", the fraction scaled to nanoseconds.
std::optional<TimePoint> ParseUnix(const std::string& value) {
  const size_t dot = value.find('.');
  std::optional<int64_t> secs = ParseInt64(value.substr(0, dot));
  if (!secs) return std::nullopt;
  int64_t nanos = 0;
  if (dot != std::string::npos) {
    const std::string frac = value.substr(dot + 1);
    std::optional<int64_t> n = ParseInt64(frac);
    if (!n || *n < 0 || frac.size() > 18) return std::nullopt;
    nanos = *n;
    for (size_t k = frac.size(); k < 9; ++k) nanos *= 10;
    for (size_t k = 9; k < frac.size(); ++k) nanos /= 10;
  }
  if (*secs > std::numeric_limits<int64_t>::max() / 1000000000 - 1 ||
      *secs < std::numeric_limits<int64_t>::min() / 1000000000 + 1) {
    return std::nullopt;
  }
  return FromUnixNanos(*secs * 1000000000 + nanos);
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

StatusOr<TimePoint> ParseDockerTimestamp(const std::string& value, TimePoint reference,
                                         std::chrono::seconds local_offset) {
  if (value != "0") {
    if (StatusOr<int64_t> d = ParseGoDuration(value); d.ok()) {
      // GetTimestamp sends reference - d as whole Unix seconds.
      const int64_t ns = ToUnixNanos(reference) - *d;
      int64_t secs = ns / 1000000000;
      if (ns % 1000000000 < 0) --secs;
      return FromUnixNanos(secs * 1000000000);
    }
  }
  const bool zoned = value.find_first_of("zZ+") != std::string::npos ||
                     std::count(value.begin(), value.end(), '-') == 3;
  if (std::optional<TimePoint> t = ParseDate(value, zoned, local_offset)) return *t;
  if (!absl::StrContains(value, "-")) {
    if (std::optional<TimePoint> t = ParseUnix(value)) return *t;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("failed to parse value as time or duration: ", GoQuote(value)));
}

StatusOr<TimePoint> ParseDockerTimestamp(const std::string& value, TimePoint reference) {
  const time_t t = std::chrono::system_clock::to_time_t(reference);
  struct tm local = {};
  localtime_r(&t, &local);
  return ParseDockerTimestamp(value, reference, std::chrono::seconds(local.tm_gmtoff));
}

}  // namespace capsule
