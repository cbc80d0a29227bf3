#include "ca/unlock_key.h"

#include <sodium.h>

#include <cstring>
#include <string>

namespace capsule::ca {

namespace {
constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
}

SecretBytes FormatUnlockKey(const SecretBytes& key) {
  const size_t prefix_len = std::strlen(kUnlockKeyPrefix);
  const size_t b64_len = sodium_base64_encoded_len(key.size(), kVariant);  // includes NUL
  SecretBytes out(prefix_len + b64_len);
  std::memcpy(out.data(), kUnlockKeyPrefix, prefix_len);
  sodium_bin2base64(reinterpret_cast<char*>(out.data() + prefix_len), b64_len, key.data(),
                    key.size(), kVariant);
  out.Truncate(prefix_len + b64_len - 1);  // drop the NUL
  return out;
}

StatusOr<SecretBytes> ParseUnlockKey(std::string_view text) {
  const std::string_view prefix(kUnlockKeyPrefix);
  auto invalid = [] { return absl::InvalidArgumentError("invalid key string"); };
  if (text.size() <= prefix.size() || text.substr(0, prefix.size()) != prefix) return invalid();
  const std::string_view b64 = text.substr(prefix.size());
  SecretBytes out(b64.size());  // decoded is always shorter
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), b64.data(), b64.size(), nullptr, &len, &end,
                        kVariant) != 0 ||
      end != b64.data() + b64.size() || len == 0) {
    return invalid();
  }
  out.Truncate(len);
  return out;
}

}  // namespace capsule::ca
