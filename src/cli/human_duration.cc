#include "cli/human_duration.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace capsule::cli {

std::string HumanDuration(std::chrono::nanoseconds d) {
  const double ns = static_cast<double>(d.count());
  const int64_t seconds = static_cast<int64_t>(ns / 1e9);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return absl::StrCat(seconds, " seconds");
  const int64_t minutes = static_cast<int64_t>(ns / 60e9);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return absl::StrCat(minutes, " minutes");
  const int64_t hours = static_cast<int64_t>(std::round(ns / 3600e9));
  if (hours == 1) return "About an hour";
  if (hours < 48) return absl::StrCat(hours, " hours");
  if (hours < 24 * 7 * 2) return absl::StrCat(hours / 24, " days");
  if (hours < 24 * 30 * 2) return absl::StrCat(hours / 24 / 7, " weeks");
  if (hours < 24 * 365 * 2) return absl::StrCat(hours / 24 / 30, " months");
  // go-units truncates here instead of rounding.
  return absl::StrCat(static_cast<int64_t>(ns / 3600e9) / 24 / 365, " years");
}

}  // namespace capsule::cli
