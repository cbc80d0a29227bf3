#include "objects/secret_versions.h"

#include <charconv>

namespace capsule {

int64_t PinnedVersion(const std::map<std::string, int64_t>& pins, const std::string& secret_id) {
  auto it = pins.find(secret_id);
  return it == pins.end() ? 1 : it->second;
}

std::string VersionObjectId(std::string_view secret_id, int64_t version) {
  return std::string(secret_id) + "." + std::to_string(version);
}

std::string DeliveryId(std::string_view secret_id, int64_t version) {
  if (version <= 1) return std::string(secret_id);
  return std::string(secret_id) + "@" + std::to_string(version);
}

std::optional<SecretVersionRef> ParseDeliveryId(std::string_view delivery_id) {
  const size_t at = delivery_id.find('@');
  if (at == std::string_view::npos) return SecretVersionRef{std::string(delivery_id), 1};
  std::string_view num = delivery_id.substr(at + 1);
  int64_t version = 0;
  auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), version);
  if (ec != std::errc() || end != num.data() + num.size() || version < 2 || at == 0) {
    return std::nullopt;
  }
  return SecretVersionRef{std::string(delivery_id.substr(0, at)), version};
}

}  // namespace capsule
