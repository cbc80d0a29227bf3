#include "crypto/keyring.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "crypto/aead.h"
#include "crypto/random.h"

namespace capsule::crypto {
namespace {

constexpr char kWrapAad[] = "capsule/keyring/v1";
constexpr uint32_t kWrapKeyId = 0;
constexpr uint8_t kWrapVersion = 1;

void PutU32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t GetU32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

}  // namespace

Keyring Keyring::Generate() {
  Keyring k;
  k.keys_.emplace(1, RandomKey(kKeySize));
  k.active_ = 1;
  k.index_key_ = RandomKey(crypto_auth_hmacsha256_KEYBYTES);
  return k;
}

Keyring::Keyring(Keyring&& other) noexcept {
  std::unique_lock lock(other.mu_);
  keys_ = std::move(other.keys_);
  active_ = other.active_;
  index_key_ = std::move(other.index_key_);
  other.keys_.clear();
  other.active_ = 0;
}

Keyring& Keyring::operator=(Keyring&& other) noexcept {
  if (this == &other) return *this;
  std::scoped_lock lock(mu_, other.mu_);
  keys_ = std::move(other.keys_);
  active_ = other.active_;
  index_key_ = std::move(other.index_key_);
  other.keys_.clear();
  other.active_ = 0;
  return *this;
}

StatusOr<std::string> Keyring::Seal(std::string_view aad,
                                    std::span<const uint8_t> plaintext) const {
  std::shared_lock lock(mu_);
  auto it = keys_.find(active_);
  if (it == keys_.end()) return absl::FailedPreconditionError("keyring is empty");
  return crypto::Seal(it->second, active_, aad, plaintext);
}

StatusOr<SecretBytes> Keyring::Open(std::string_view aad, std::string_view sealed) const {
  ASSIGN_OR_RETURN(uint32_t id, SealedKeyId(sealed));
  for (int attempt = 0;; ++attempt) {
    {
      std::shared_lock lock(mu_);
      if (keys_.empty()) return absl::FailedPreconditionError("keyring is empty");
      auto it = keys_.find(id);
      if (it != keys_.end()) return crypto::Open(it->second, aad, sealed);
    }
    if (attempt > 0) break;
    std::shared_lock lock(miss_mu_);
    if (!miss_) break;
    miss_(id);  // e.g. reloads the keyring from etcd (another manager added the key)
  }
  return absl::DataLossError(absl::StrCat("sealed value: unknown key id ", id));
}

std::string Keyring::NameIndex(std::string_view name) const {
  std::string lower(name);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  std::shared_lock lock(mu_);
  if (index_key_.size() != crypto_auth_hmacsha256_KEYBYTES) {
    std::fputs("capsule: Keyring::NameIndex on an empty keyring\n", stderr);
    std::abort();
  }
  uint8_t mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, reinterpret_cast<const uint8_t*>(lower.data()), lower.size(),
                         index_key_.data());
  char hex[2 * sizeof(mac) + 1];
  sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
  return std::string(hex, 2 * sizeof(mac));
}

uint32_t Keyring::active_key_id() const {
  std::shared_lock lock(mu_);
  return active_;
}

uint32_t Keyring::Rotate() {
  std::unique_lock lock(mu_);
  uint32_t id = keys_.empty() ? 1 : keys_.rbegin()->first + 1;
  keys_.emplace(id, RandomKey(kKeySize));
  active_ = id;
  if (index_key_.empty()) index_key_ = RandomKey(crypto_auth_hmacsha256_KEYBYTES);
  return id;
}

uint32_t Keyring::Stage() {
  std::unique_lock lock(mu_);
  uint32_t id = keys_.empty() ? 1 : keys_.rbegin()->first + 1;
  keys_.emplace(id, RandomKey(kKeySize));
  if (index_key_.empty()) index_key_ = RandomKey(crypto_auth_hmacsha256_KEYBYTES);
  return id;
}

Status Keyring::Activate(uint32_t id) {
  std::unique_lock lock(mu_);
  if (!keys_.contains(id)) return absl::NotFoundError(absl::StrCat("no data key ", id));
  active_ = id;
  return absl::OkStatus();
}

Status Keyring::Remove(uint32_t id) {
  std::unique_lock lock(mu_);
  auto it = keys_.find(id);
  if (it == keys_.end()) return absl::NotFoundError(absl::StrCat("no data key ", id));
  if (id == active_) {
    return absl::FailedPreconditionError(absl::StrCat("data key ", id, " is the active one"));
  }
  keys_.erase(it);  // ~SecretBytes wipes the key
  return absl::OkStatus();
}

Status Keyring::Adopt(Keyring&& newer) {
  if (&newer == this) return absl::OkStatus();
  std::map<uint32_t, SecretBytes> dropped;  // wiped when this returns, outside the locks
  std::scoped_lock lock(mu_, newer.mu_);
  if (newer.keys_.empty()) return absl::FailedPreconditionError("keyring is empty");
  dropped.swap(keys_);
  keys_ = std::move(newer.keys_);
  newer.keys_.clear();
  active_ = newer.active_;
  newer.active_ = 0;
  index_key_ = std::move(newer.index_key_);
  return absl::OkStatus();
}

void Keyring::SetMissHandler(std::function<void(uint32_t id)> handler) {
  std::unique_lock lock(miss_mu_);
  miss_ = std::move(handler);
}

std::vector<uint32_t> Keyring::key_ids() const {
  std::shared_lock lock(mu_);
  std::vector<uint32_t> ids;
  for (const auto& [id, key] : keys_) ids.push_back(id);
  return ids;
}

StatusOr<std::string> Keyring::Wrap(const SecretBytes& kek) const {
  std::shared_lock lock(mu_);
  if (keys_.empty()) return absl::FailedPreconditionError("keyring is empty");
  SecretBytes buf(1 + 4 + kKeySize + 4 + keys_.size() * (4 + kKeySize));
  uint8_t* p = buf.data();
  *p++ = kWrapVersion;
  PutU32(p, active_);
  p += 4;
  std::memcpy(p, index_key_.data(), kKeySize);
  p += kKeySize;
  PutU32(p, static_cast<uint32_t>(keys_.size()));
  p += 4;
  for (const auto& [id, key] : keys_) {
    PutU32(p, id);
    p += 4;
    std::memcpy(p, key.data(), kKeySize);
    p += kKeySize;
  }
  return crypto::Seal(kek, kWrapKeyId, kWrapAad, buf.span());
}

StatusOr<Keyring> Keyring::Unwrap(const SecretBytes& kek, std::string_view wrapped) {
  ASSIGN_OR_RETURN(SecretBytes buf, crypto::Open(kek, kWrapAad, wrapped));
  auto bad = [](const char* why) {
    return absl::DataLossError(absl::StrCat("wrapped keyring: ", why));
  };
  constexpr size_t kFixed = 1 + 4 + kKeySize + 4;
  if (buf.size() < kFixed) return bad("too short");
  const uint8_t* p = buf.data();
  if (p[0] != kWrapVersion) return bad("unknown version");
  const uint32_t active = GetU32(p + 1);
  const uint8_t* index_key = p + 5;
  const uint32_t count = GetU32(p + 5 + kKeySize);
  if (count == 0 || buf.size() != kFixed + size_t{count} * (4 + kKeySize)) {
    return bad("bad length");
  }
  Keyring k;
  k.index_key_ = SecretBytes::CopyFrom(std::span<const uint8_t>(index_key, kKeySize));
  p += kFixed;
  for (uint32_t i = 0; i < count; ++i, p += 4 + kKeySize) {
    const uint32_t id = GetU32(p);
    if (!k.keys_.emplace(id, SecretBytes::CopyFrom(std::span<const uint8_t>(p + 4, kKeySize)))
             .second) {
      return bad("duplicate key id");
    }
  }
  if (!k.keys_.contains(active)) return bad("active key missing");
  k.active_ = active;
  return k;
}

}  // namespace capsule::crypto
