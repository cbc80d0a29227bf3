// Credential decoding (declared in registry_auth.h).
#include "agent/registry/registry_auth.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

namespace capsule::agent::registry {
namespace {

// Standard or URL-safe base64, padding optional. Empty on malformed input (nullopt).
std::optional<std::string> UnBase64(std::string s) {
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (!s.empty() && s.back() == '=') s.pop_back();
  const size_t pad = (4 - s.size() % 4) % 4;
  if (pad == 3) return std::nullopt;
  s.append(pad, '=');
  std::string out(s.size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

}  // namespace

std::string Base64(std::string_view bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

StatusOr<RegistryAuth> ParseAuthConfig(std::string_view json_text) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) return absl::InvalidArgumentError("invalid registry credentials");
  auto str = [&j](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  RegistryAuth out;
  out.username = str("username");
  std::string password = str("password");
  if (std::string packed = str("auth"); !packed.empty() && out.username.empty()) {
    std::optional<std::string> plain = UnBase64(packed);
    WipeString(packed);
    if (plain.has_value()) {
      const size_t colon = plain->find(':');
      if (colon != std::string::npos) {
        out.username = plain->substr(0, colon);
        password = plain->substr(colon + 1);
      }
      WipeString(*plain);
    }
  }
  out.password = SecretBytes::CopyFrom(password);
  WipeString(password);
  std::string token = str("identitytoken");
  out.identity_token = SecretBytes::CopyFrom(token);
  WipeString(token);
  out.server_address = str("serveraddress");
  return out;
}

StatusOr<RegistryAuth> DecodeRegistryAuthHeader(const std::string& header) {
  if (header.empty()) return RegistryAuth{};
  std::optional<std::string> text = UnBase64(header);
  if (!text.has_value()) return absl::InvalidArgumentError("invalid X-Registry-Auth header");
  StatusOr<RegistryAuth> out = ParseAuthConfig(*text);
  WipeString(*text);
  return out;
}

}  // namespace capsule::agent::registry
