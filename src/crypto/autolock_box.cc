#include "crypto/autolock_box.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "crypto/aead.h"
#include "crypto/secure_file.h"

namespace capsule::crypto {
namespace {

constexpr char kKekAad[] = "capsule/autolock/v1/kek";
constexpr char kKeyAad[] = "capsule/autolock/v1/unlock-key";
constexpr size_t kMaxBoxSize = 16 * 1024;

std::string PreviousAad(int64_t until) {
  return absl::StrCat("capsule/autolock/v1/previous/", until);
}

std::string ToBase64(std::string_view bin) {
  if (bin.empty()) return "";
  std::string out(sodium_base64_encoded_len(bin.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const uint8_t*>(bin.data()),
                    bin.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the NUL
  return out;
}

StatusOr<std::string> FromBase64(std::string_view b64) {
  std::string out(b64.size(), '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<uint8_t*>(out.data()), out.size(), b64.data(), b64.size(),
                        nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64.data() + b64.size()) {
    return absl::DataLossError("autolock box: bad base64");
  }
  out.resize(len);
  return out;
}

Status Unauthenticated() { return absl::UnauthenticatedError(kInvalidUnlockKeyMessage); }

}  // namespace

StatusOr<AutolockBox> AutolockBox::New(const SecretBytes& key, const SecretBytes& kek) {
  AutolockBox box;
  ASSIGN_OR_RETURN(box.kek_, Seal(key, 0, kKekAad, kek.span()));
  ASSIGN_OR_RETURN(box.key_, Seal(kek, 0, kKeyAad, key.span()));
  return box;
}

StatusOr<AutolockBox> AutolockBox::Rotated(const SecretBytes& old_key, const SecretBytes& new_key,
                                           const SecretBytes& kek, int64_t until_unix) {
  ASSIGN_OR_RETURN(AutolockBox box, New(new_key, kek));
  box.until_ = until_unix;
  ASSIGN_OR_RETURN(box.previous_, Seal(old_key, 0, PreviousAad(until_unix), kek.span()));
  return box;
}

StatusOr<UnlockedKeys> AutolockBox::Open(const SecretBytes& given, int64_t now_unix) const {
  if (given.size() != kKeySize) return Unauthenticated();
  UnlockedKeys keys;
  if (StatusOr<SecretBytes> kek = crypto::Open(given, kKekAad, kek_); kek.ok()) {
    keys.kek = *std::move(kek);
  } else if (!previous_.empty() && now_unix < until_) {
    StatusOr<SecretBytes> by_previous = crypto::Open(given, PreviousAad(until_), previous_);
    if (!by_previous.ok()) return Unauthenticated();
    keys.kek = *std::move(by_previous);
  } else {
    return Unauthenticated();
  }
  StatusOr<SecretBytes> key = crypto::Open(keys.kek, kKeyAad, key_);
  if (!key.ok()) return absl::DataLossError("autolock box: the unlock key does not open");
  keys.unlock_key = *std::move(key);
  return keys;
}

std::string AutolockBox::Serialize() const {
  nlohmann::json j = {{"Version", 1}, {"Kek", ToBase64(kek_)}, {"Key", ToBase64(key_)}};
  if (!previous_.empty()) j["Previous"] = {{"Until", until_}, {"Sealed", ToBase64(previous_)}};
  return j.dump();
}

StatusOr<AutolockBox> AutolockBox::Parse(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [](std::string_view what) {
    return absl::DataLossError("autolock box: " + std::string(what));
  };
  if (!j.is_object()) return bad("not a JSON object");
  if (!j.contains("Version") || j["Version"] != 1) return bad("unknown version");
  auto str = [](const nlohmann::json& parent, const char* name) -> const std::string* {
    if (!parent.is_object() || !parent.contains(name) || !parent[name].is_string()) {
      return nullptr;
    }
    return parent[name].get_ptr<const std::string*>();
  };
  AutolockBox box;
  const std::string* kek = str(j, "Kek");
  const std::string* key = str(j, "Key");
  if (kek == nullptr || kek->empty() || key == nullptr || key->empty()) return bad("no keys");
  ASSIGN_OR_RETURN(box.kek_, FromBase64(*kek));
  ASSIGN_OR_RETURN(box.key_, FromBase64(*key));
  if (j.contains("Previous")) {
    const nlohmann::json& p = j["Previous"];
    const std::string* sealed = str(p, "Sealed");
    if (sealed == nullptr || !p.contains("Until") || !p["Until"].is_number_integer()) {
      return bad("malformed previous key");
    }
    box.until_ = p["Until"].get<int64_t>();
    ASSIGN_OR_RETURN(box.previous_, FromBase64(*sealed));
  }
  return box;
}

Status WriteAutolockBox(const std::string& path, const AutolockBox& box) {
  const std::string text = box.Serialize();
  return WriteFileAtomic(path, {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, 0600,
                         /*replace=*/true);
}

StatusOr<std::optional<AutolockBox>> ReadAutolockBox(const std::string& path) {
  StatusOr<SecretBytes> bytes = ReadPrivateFile(path, kMaxBoxSize);
  if (absl::IsNotFound(bytes.status())) return std::nullopt;
  if (!bytes.ok()) return bytes.status();
  ASSIGN_OR_RETURN(AutolockBox box, AutolockBox::Parse(bytes->view()));
  return box;
}

}  // namespace capsule::crypto
