#include "common/clock.h"

#include <cstdio>
#include <ctime>

namespace capsule {
namespace {

class SystemClock : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
  SteadyTime SteadyNow() const override { return std::chrono::steady_clock::now(); }
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 SteadyTime deadline, absl::FunctionRef<bool()> pred) const override {
    return cv.wait_until(lock, deadline, [&pred] { return pred(); });
  }
};

}  // namespace

Clock& RealClock() {
  static SystemClock clock;
  return clock;
}

int64_t ToUnixNanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

TimePoint FromUnixNanos(int64_t ns) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::nanoseconds(ns)));
}

std::string FormatRfc3339Nano(TimePoint t) {
  int64_t ns = ToUnixNanos(t);
  int64_t secs = ns / 1000000000;
  int64_t frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    secs -= 1;
  }
  time_t tt = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (frac != 0) {
    char fb[16];
    snprintf(fb, sizeof(fb), ".%09lld", static_cast<long long>(frac));
    std::string f(fb);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

bool ParseRfc3339Nano(const std::string& s, TimePoint* out) {
  struct tm tm = {};
  int consumed = 0;
  if (sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return false;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t i = static_cast<size_t>(consumed);
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) frac *= 10;
  }
  if (i + 1 != s.size() || s[i] != 'Z') return false;
  time_t secs = timegm(&tm);
  *out = FromUnixNanos(static_cast<int64_t>(secs) * 1000000000 + frac);
  return true;
}

}  // namespace capsule
