#include "store/record.h"

#include <cstring>

namespace capsule::store {
namespace {

constexpr size_t kHeader = 4;

StatusOr<size_t> MetaLength(const SecretBytes& plain) {
  if (plain.size() < kHeader) return absl::DataLossError("stored record is truncated");
  const uint8_t* p = plain.data();
  size_t len = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
  if (len > plain.size() - kHeader) return absl::DataLossError("stored record is truncated");
  return len;
}

}  // namespace

SecretBytes EncodeRecord(const Record& record) {
  const size_t meta_len = record.meta.size();
  SecretBytes out(kHeader + meta_len + record.data.size());
  uint8_t* p = out.data();
  p[0] = static_cast<uint8_t>(meta_len >> 24);
  p[1] = static_cast<uint8_t>(meta_len >> 16);
  p[2] = static_cast<uint8_t>(meta_len >> 8);
  p[3] = static_cast<uint8_t>(meta_len);
  if (meta_len) std::memcpy(p + kHeader, record.meta.data(), meta_len);
  if (!record.data.empty()) {
    std::memcpy(p + kHeader + meta_len, record.data.data(), record.data.size());
  }
  return out;
}

StatusOr<Record> DecodeRecord(const SecretBytes& plain) {
  ASSIGN_OR_RETURN(size_t meta_len, MetaLength(plain));
  Record r;
  r.meta.assign(reinterpret_cast<const char*>(plain.data() + kHeader), meta_len);
  r.data = SecretBytes::CopyFrom(plain.span().subspan(kHeader + meta_len));
  return r;
}

StatusOr<std::string> DecodeRecordMeta(const SecretBytes& plain) {
  ASSIGN_OR_RETURN(size_t meta_len, MetaLength(plain));
  return std::string(reinterpret_cast<const char*>(plain.data() + kHeader), meta_len);
}

}  // namespace capsule::store
