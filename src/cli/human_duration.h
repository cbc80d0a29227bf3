// Docker's human-readable durations (github.com/docker/go-units HumanDuration), used by
// `secret ls` for CREATED/UPDATED ("About a minute" + " ago").
#pragma once

#include <chrono>
#include <string>

namespace capsule::cli {

// "Less than a second", "1 second", "N seconds", "About a minute", "N minutes",
// "About an hour", "N hours", "N days", "N weeks", "N months", "N years" — with
// go-units' exact thresholds (hours are rounded, everything else truncated).
std::string HumanDuration(std::chrono::nanoseconds d);

}  // namespace capsule::cli
