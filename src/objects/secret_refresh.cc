#include "objects/secret_refresh.h"

#include <cctype>
#include <charconv>
#include <csignal>

namespace capsule {
namespace {

struct NamedSignal {
  const char* name;
  int number;
};

constexpr NamedSignal kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"USR1", SIGUSR1},   {"USR2", SIGUSR2},
    {"TERM", SIGTERM}, {"ALRM", SIGALRM}, {"CONT", SIGCONT}, {"WINCH", SIGWINCH}, {"PIPE", SIGPIPE},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"PWR", SIGPWR},
    {"IO", SIGIO},     {"KILL", SIGKILL}, {"STOP", SIGSTOP},
};

constexpr int kMaxSignal = 64;

Status BadPolicy(std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(
      "invalid secret refresh policy \"" + std::string(value) + "\": " + std::string(why) +
      " (expected signal:SIG, e.g. signal:SIGHUP, signal:USR1 or signal:10, or none)");
}

}  // namespace

StatusOr<std::string> ParseRefreshPolicy(std::string_view value) {
  if (value == kRefreshNone) return std::string(kRefreshNone);
  constexpr std::string_view kPrefix = "signal:";
  if (!value.starts_with(kPrefix)) return BadPolicy(value, "unknown policy");
  std::string_view sig = value.substr(kPrefix.size());
  if (sig.empty()) return BadPolicy(value, "no signal");
  int number = 0;
  if (sig[0] >= '0' && sig[0] <= '9') {
    auto [end, ec] = std::from_chars(sig.data(), sig.data() + sig.size(), number);
    if (ec != std::errc() || end != sig.data() + sig.size() || number < 1 || number > kMaxSignal) {
      return BadPolicy(value, "not a signal number (1-64)");
    }
  } else {
    std::string name(sig);
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (name.starts_with("SIG")) name = name.substr(3);
    for (const NamedSignal& s : kSignals) {
      if (name == s.name) number = s.number;
    }
    if (number == 0) return BadPolicy(value, "unknown signal");
  }
  if (number == SIGKILL || number == SIGSTOP) {
    return BadPolicy(value, "SIGKILL and SIGSTOP cannot be handled by a task");
  }
  return std::string(kPrefix) + std::to_string(number);
}

int RefreshSignal(std::string_view canonical) {
  constexpr std::string_view kPrefix = "signal:";
  if (!canonical.starts_with(kPrefix)) return 0;
  std::string_view num = canonical.substr(kPrefix.size());
  int n = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), n);
  if (ec != std::errc() || end != num.data() + num.size() || n < 1 || n > kMaxSignal) return 0;
  return n;
}

std::string RefreshPolicyText(std::string_view canonical) {
  const int n = RefreshSignal(canonical);
  if (n == 0) return kRefreshNone;
  for (const NamedSignal& s : kSignals) {
    if (s.number == n) return std::string("signal:SIG") + s.name;
  }
  return "signal:" + std::to_string(n);
}

bool RefreshableTarget(std::string_view target) {
  if (target.empty()) return false;
  if (target[0] != '/') return true;
  constexpr std::string_view kDir = "/run/secrets/";
  return target.starts_with(kDir) && target.size() > kDir.size();
}

}  // namespace capsule
