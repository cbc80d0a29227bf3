#include "manager/controlapi/validation/validate.h"

#include <string>

namespace capsule::controlapi {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

Status ValidateName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("name must be provided");
  bool ok = name.size() <= 64 && IsAlnum(name.front()) && IsAlnum(name.back());
  for (size_t i = 0; ok && i < name.size(); ++i) {
    char c = name[i];
    ok = IsAlnum(c) || c == '_' || c == '.' || c == '-';
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end "
        "character must be [a-zA-Z0-9]");
  }
  return absl::OkStatus();
}

namespace {

Status ValidateDataSize(const char* kind, size_t size, size_t max) {
  if (size == 0 || size >= max) {
    return absl::InvalidArgumentError(std::string(kind) +
                                      " data must be larger than 0 and less than " +
                                      std::to_string(max) + " bytes");
  }
  return absl::OkStatus();
}

}  // namespace

Status ValidateSecretData(size_t size) { return ValidateDataSize("secret", size, kMaxSecretSize); }

Status ValidateConfigData(size_t size) { return ValidateDataSize("config", size, kMaxConfigSize); }

}  // namespace capsule::controlapi
