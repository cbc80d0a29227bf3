#include "common/secret_bytes.h"

#include <sodium.h>
#include <sys/mman.h>

#include <atomic>
#include <cstring>
#include <string>

namespace capsule {
namespace {

std::atomic<bool> process_locked{false};

}  // namespace

bool SecretBytes::LockProcessMemory() {
  if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) return false;
  process_locked = true;
  return true;
}

SecretBytes::SecretBytes(size_t size) : size_(size), capacity_(size) {
  if (size == 0) return;
  data_ = new uint8_t[size]();
  // Best effort: keep it out of swap. Failure (RLIMIT_MEMLOCK) is not fatal.
  if (!process_locked) (void)mlock(data_, size);
}

SecretBytes SecretBytes::CopyFrom(std::string_view bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

SecretBytes SecretBytes::CopyFrom(std::span<const uint8_t> bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) std::memcpy(out.data_, bytes.data(), bytes.size());
  return out;
}

SecretBytes::~SecretBytes() { Release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = other.capacity_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.size_ = other.capacity_ = 0;
  }
  return *this;
}

void SecretBytes::Truncate(size_t new_size) {
  if (new_size >= size_) return;
  sodium_memzero(data_ + new_size, size_ - new_size);
  size_ = new_size;
}

bool SecretBytes::Equals(std::span<const uint8_t> other) const {
  if (other.size() != size_) return false;
  if (size_ == 0) return true;
  return sodium_memcmp(data_, other.data(), size_) == 0;
}

void SecretBytes::Release() {
  if (data_ == nullptr) return;
  sodium_memzero(data_, capacity_);
  if (!process_locked) (void)munlock(data_, capacity_);
  delete[] data_;
  data_ = nullptr;
  size_ = capacity_ = 0;
}

void WipeString(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
  s.shrink_to_fit();
}

}  // namespace capsule
