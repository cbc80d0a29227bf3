// What one stored object holds before sealing: non-secret metadata (JSON text, see
// objects/objects.h) and, for secrets, the secret data. Encoded as
//   u32 big-endian meta length | meta | data
// into a SecretBytes, so the plaintext of a sealed value only ever lives in wiped memory.
#pragma once

#include <string>
#include <string_view>

#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::store {

struct Record {
  std::string meta;
  SecretBytes data;  // empty for objects without secret data
};

SecretBytes EncodeRecord(const Record& record);
// DataLoss if the buffer is shorter than its header says.
StatusOr<Record> DecodeRecord(const SecretBytes& plain);
// Only the meta part (no copy of the data).
StatusOr<std::string> DecodeRecordMeta(const SecretBytes& plain);

}  // namespace capsule::store
