// The TLS identity of an autolocked manager (issue 13): its private key never lies on disk in
// the clear. While such a manager runs, <data-root>/swarm/certificates/ is covered by a
// private tmpfs (mode 0700) holding the key in the clear and copies of the two certificates,
// so every reader of the usual paths (etcd's peer TLS, the swarm port, the agent, the
// renewer) works unchanged. The directory underneath holds the certificates and
//   swarm-node.key.sealed   crypto::Seal(W, aad "capsule/node-key/v1", key PEM)
// where W is the cluster key-wrapping key the autolock box seals under the unlock key — so
// the key opens only with the unlock key. (Our own AEAD envelope rather than an encrypted
// PKCS#8 PEM: W is a random 256-bit key, not a password, so PBES2's KDF would add nothing,
// and it is the same seal as every other stored value.) Without autolock the directory is not
// covered and swarm-node.key is the key in the clear, as before.
// Writes underneath go through a descriptor of the directory opened before it was covered.
// A kill -9 leaves the tmpfs mounted: ClearStale unmounts it at the next start.
// Needs CAP_SYS_ADMIN (mount). Not thread-safe: the Manager serialises its calls.
#pragma once

#include <string>

#include "common/secret_bytes.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "node/certificates.h"

namespace capsule::node {

inline constexpr char kSealedNodeKeyName[] = "swarm-node.key.sealed";

class IdentityVault {
 public:
  explicit IdentityVault(CertificatePaths paths) : paths_(std::move(paths)) {}
  ~IdentityVault();  // Uncover()

  // Unmounts a tmpfs a killed capsuled left over the directory (any number of them).
  static Status ClearStale(const CertificatePaths& paths);
  // Whether the directory underneath holds the sealed key.
  bool HasSealedKey() const;

  // Covers the directory with the tmpfs and fills it: the certificates from underneath, the
  // key from the sealed file (opened with kek; a wrong kek → DataLoss) or, if there is none,
  // the plaintext key file. An empty directory (`swarm init --autolock`, before the node's
  // certificates exist) is covered empty. No-op when already covered.
  Status Cover(const SecretBytes& kek);
  bool covered() const { return under_.valid(); }

  // Copies the current identity (the covered files) underneath: the certificates, and the
  // key sealed under kek (sealed == true; the plaintext key underneath is removed) or in the
  // clear (sealed == false; the sealed file is removed). Needs covered().
  Status SyncUnderneath(const SecretBytes& kek, bool sealed);

  // Unmounts the tmpfs (lazily: a reader still holding a file keeps only that file). No-op
  // when not covered.
  void Uncover();

 private:
  Status WriteUnder(const std::string& name, std::string_view data, mode_t mode);
  Status RemoveUnder(const std::string& name);

  CertificatePaths paths_;
  UniqueFd under_;  // the covered directory itself (O_RDONLY|O_DIRECTORY), while covered
};

// The sealed-key envelope (exposed for tests).
StatusOr<std::string> SealNodeKey(const SecretBytes& kek, const SecretBytes& key_pem);
// Wrong kek or a tampered envelope → DataLoss.
StatusOr<SecretBytes> OpenNodeKey(const SecretBytes& kek, std::string_view sealed);

}  // namespace capsule::node
