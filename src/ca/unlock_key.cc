#include "ca/unlock_key.h"

#include <sodium.h>

#include <cstring>
#include <string>

namespace capsule::ca {

namespace {
constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

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
  // Go's RawStdEncoding (not Strict) ignores the unused low bits of the last character, so
  // "…Ts" and "…Tt" are the same key for Docker; libsodium refuses non-zero unused bits, so
  // they are cleared first.
  SecretBytes b64 = SecretBytes::CopyFrom(text.substr(prefix.size()));
  if (const size_t rem = b64.size() % 4; rem == 2 || rem == 3) {
    uint8_t& last = b64.data()[b64.size() - 1];
    const char* at = std::strchr(kAlphabet, last);
    if (last == 0 || at == nullptr) return invalid();
    const int unused_mask = rem == 2 ? 0x0f : 0x03;
    last = static_cast<uint8_t>(kAlphabet[(at - kAlphabet) & ~unused_mask]);
  }
  SecretBytes out(b64.size());  // decoded is always shorter
  size_t len = 0;
  const char* end = nullptr;
  const char* b64_text = reinterpret_cast<const char*>(b64.data());
  if (sodium_base642bin(out.data(), out.size(), b64_text, b64.size(), nullptr, &len, &end,
                        kVariant) != 0 ||
      end != b64_text + b64.size() || len == 0) {
    return invalid();
  }
  out.Truncate(len);
  return out;
}

}  // namespace capsule::ca
