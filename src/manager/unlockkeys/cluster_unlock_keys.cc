#include "manager/unlockkeys/cluster_unlock_keys.h"

#include <cstring>
#include <string_view>

namespace capsule::unlockkeys {
namespace {

// "CUK1" | current (32) | previous_until (8, big-endian) | previous (0 or 32)
constexpr std::string_view kMagic = "CUK1";
constexpr size_t kKeyLen = 32;
constexpr size_t kFixedLen = 4 + kKeyLen + 8;

}  // namespace

ClusterUnlockKeys ClusterUnlockKeys::Copy() const {
  return {SecretBytes::CopyFrom(current.span()), SecretBytes::CopyFrom(previous.span()),
          previous_until};
}

int64_t UnixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

SecretBytes EncodeUnlockKeys(const std::optional<ClusterUnlockKeys>& keys) {
  if (!keys) return SecretBytes();
  SecretBytes out(kFixedLen + keys->previous.size());
  uint8_t* p = out.data();
  std::memcpy(p, kMagic.data(), kMagic.size());
  std::memcpy(p + 4, keys->current.data(), kKeyLen);
  const uint64_t until = static_cast<uint64_t>(keys->previous_until);
  for (int i = 0; i < 8; ++i) p[4 + kKeyLen + i] = static_cast<uint8_t>(until >> (56 - 8 * i));
  if (!keys->previous.empty()) std::memcpy(p + kFixedLen, keys->previous.data(), kKeyLen);
  return out;
}

StatusOr<std::optional<ClusterUnlockKeys>> DecodeUnlockKeys(const SecretBytes& data) {
  if (data.empty()) return std::nullopt;
  if ((data.size() != kFixedLen && data.size() != kFixedLen + kKeyLen) ||
      data.view().substr(0, 4) != kMagic) {
    return absl::DataLossError("the cluster's unlock keys are malformed");
  }
  const std::span<const uint8_t> b = data.span();
  ClusterUnlockKeys keys;
  keys.current = SecretBytes::CopyFrom(b.subspan(4, kKeyLen));
  uint64_t until = 0;
  for (int i = 0; i < 8; ++i) until = (until << 8) | b[4 + kKeyLen + i];
  keys.previous_until = static_cast<int64_t>(until);
  if (data.size() > kFixedLen) keys.previous = SecretBytes::CopyFrom(b.subspan(kFixedLen));
  return keys;
}

bool NextUnlockKeys(std::optional<ClusterUnlockKeys>& keys, const UnlockKeyRequest& request,
                    const std::function<SecretBytes()>& random) {
  if (!request.autolock) {
    if (!keys) return false;
    keys.reset();
    return true;
  }
  if (!keys) {
    ClusterUnlockKeys fresh;
    fresh.current = request.adopt != nullptr && request.adopt->size() == kKeyLen
                        ? SecretBytes::CopyFrom(request.adopt->span())
                        : random();
    keys = std::move(fresh);
    return true;
  }
  if (!request.rotate) return false;
  keys->previous = std::move(keys->current);
  keys->previous_until = UnixSeconds(request.now + request.grace);
  keys->current = random();
  return true;
}

}  // namespace capsule::unlockkeys
