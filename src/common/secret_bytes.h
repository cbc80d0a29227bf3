// SecretBytes: a move-only buffer for secret payloads. It wipes itself (sodium_memzero)
// when destroyed or reassigned, its pages are mlock()ed where the kernel allows it, and
// it prints as "[redacted]" so it can never end up in a log by accident. Outside the
// codec edges (HTTP body, sealing) secret payloads live only in SecretBytes.
// Not thread-safe; one owner at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>

namespace capsule {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size);  // zero-filled
  static SecretBytes CopyFrom(std::string_view bytes);
  static SecretBytes CopyFrom(std::span<const uint8_t> bytes);
  ~SecretBytes();

  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }

  // Shrinks the logical size (the tail is wiped). new_size must be <= size().
  void Truncate(size_t new_size);

  // Constant-time comparison of contents (sizes are compared first; the size is not secret).
  bool Equals(std::span<const uint8_t> other) const;

  // Tries mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT) for the whole process: then no page
  // (secret buffers, but also HTTP/gRPC buffers that held them in transit) can be swapped,
  // and SecretBytes skips its per-buffer mlock (each one splits a VMA: costly on hot paths).
  // Returns false (and per-buffer locking stays on) without the privilege. Call once, early.
  static bool LockProcessMemory();

 private:
  void Release();
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

inline std::ostream& operator<<(std::ostream& os, const SecretBytes&) { return os << "[redacted]"; }

// Wipes a std::string in place (used at codec edges where a library handed us a string).
void WipeString(std::string& s);

}  // namespace capsule
