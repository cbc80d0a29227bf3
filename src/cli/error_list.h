// ErrorList: the errors of a loop over several objects (rm a b c, inspect a b), reported as
// docker does — every message, joined by '\n', with the first error's code.
#pragma once

#include <absl/strings/str_join.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::cli {

struct ErrorList {
  std::vector<std::string> messages;
  absl::StatusCode code = absl::StatusCode::kOk;
  void Add(const Status& s) {
    messages.push_back(std::string(s.message()));
    if (code == absl::StatusCode::kOk) code = s.code();
  }
  Status ToStatus() const {
    if (messages.empty()) return absl::OkStatus();
    return absl::Status(code, absl::StrJoin(messages, "\n"));
  }
};

}  // namespace capsule::cli
