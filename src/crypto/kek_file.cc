// LoadOrCreateKekFile (declared in keyring.h).
#include "absl/strings/str_cat.h"
#include "crypto/aead.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "crypto/secure_file.h"

namespace capsule::crypto {
namespace {

StatusOr<SecretBytes> ReadKekFile(const std::string& path) {
  ASSIGN_OR_RETURN(SecretBytes kek, ReadPrivateFile(path, kKeySize));
  if (kek.size() != kKeySize) {
    return absl::FailedPreconditionError(
        absl::StrCat("KEK file ", path, " has size ", kek.size(), ", expected ", kKeySize));
  }
  return kek;
}

}  // namespace

StatusOr<SecretBytes> LoadOrCreateKekFile(const std::string& path) {
  StatusOr<SecretBytes> kek = ReadKekFile(path);
  if (kek.ok() || !absl::IsNotFound(kek.status())) return kek;
  // Missing: create it without replacing anything. If another process won the race
  // (AlreadyExists), its file is the KEK.
  SecretBytes fresh = RandomKey(kKeySize);
  Status created = WriteFileAtomic(path, fresh.span(), 0600, /*replace=*/false);
  if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  return ReadKekFile(path);
}

}  // namespace capsule::crypto
