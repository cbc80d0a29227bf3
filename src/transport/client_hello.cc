#include "transport/client_hello.h"

#include <cstdint>
#include <optional>

namespace capsule::transport {
namespace {

// A bounds-checked reader over the ClientHello body; every read past the end fails.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  std::optional<uint32_t> Int(size_t bytes) {
    if (data_.size() < bytes) return std::nullopt;
    uint32_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(data_[i]);
    data_.remove_prefix(bytes);
    return v;
  }
  std::optional<std::string_view> Bytes(size_t n) {
    if (data_.size() < n) return std::nullopt;
    std::string_view out = data_.substr(0, n);
    data_.remove_prefix(n);
    return out;
  }
  // A vector with a `len_bytes`-byte length prefix.
  std::optional<std::string_view> Vector(size_t len_bytes) {
    std::optional<uint32_t> n = Int(len_bytes);
    if (!n) return std::nullopt;
    return Bytes(*n);
  }

 private:
  std::string_view data_;
};

constexpr uint8_t kHandshakeRecord = 22;
constexpr uint8_t kClientHello = 1;
constexpr uint16_t kServerNameExtension = 0;
constexpr uint8_t kHostName = 0;

ClientHelloSni Done(std::string name = "") {
  return {ClientHelloSni::State::kDone, std::move(name)};
}

// The host name in a server_name extension's data (RFC 6066 §3), or "" when malformed.
std::string HostName(std::string_view ext) {
  Reader r(ext);
  std::optional<std::string_view> list = r.Vector(2);
  if (!list) return "";
  Reader entries(*list);
  while (std::optional<uint32_t> type = entries.Int(1)) {
    std::optional<std::string_view> name = entries.Vector(2);
    if (!name) return "";
    if (*type == kHostName) return std::string(*name);
  }
  return "";
}

}  // namespace

ClientHelloSni ParseClientHelloSni(std::string_view bytes) {
  if (bytes.empty()) return {};
  if (static_cast<uint8_t>(bytes[0]) != kHandshakeRecord) return Done();
  if (bytes.size() < 5) return {};
  Reader header(bytes.substr(1, 4));
  header.Int(2);  // legacy record version
  const uint32_t record_len = *header.Int(2);
  if (5 + record_len > kMaxClientHelloBytes) return Done();
  if (bytes.size() < 5 + record_len) return {};

  Reader record(bytes.substr(5, record_len));
  std::optional<uint32_t> type = record.Int(1);
  std::optional<uint32_t> hello_len = record.Int(3);
  if (!type || *type != kClientHello || !hello_len) return Done();
  std::optional<std::string_view> hello = record.Bytes(*hello_len);
  if (!hello) return Done();  // split across records: not understood

  Reader r(*hello);
  if (!r.Int(2) || !r.Bytes(32) || !r.Vector(1) || !r.Vector(2) || !r.Vector(1)) return Done();
  std::optional<std::string_view> extensions = r.Vector(2);
  if (!extensions) return Done();
  Reader ext(*extensions);
  while (std::optional<uint32_t> ext_type = ext.Int(2)) {
    std::optional<std::string_view> data = ext.Vector(2);
    if (!data) return Done();
    if (*ext_type == kServerNameExtension) return Done(HostName(*data));
  }
  return Done();
}

}  // namespace capsule::transport
