#include "node/identity_vault.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include "ca/node_key.h"
#include "common/errno_status.h"
#include "common/file_read.h"
#include "crypto/aead.h"
#include "crypto/random.h"
#include "crypto/secure_file.h"
#include "node/swarm_state.h"

namespace capsule::node {
namespace {

constexpr char kNodeKeyAad[] = "capsule/node-key/v1";
constexpr size_t kMaxSealedKeySize = 64 * 1024;

std::string Parent(const std::string& dir) { return dir.substr(0, dir.find_last_of('/')); }

std::string Base(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// A mount covers dir when it sits on another device than its parent.
StatusOr<bool> IsCovered(const std::string& dir) {
  struct stat d, p;
  if (::stat(dir.c_str(), &d) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoStatus("stat", dir, errno);
  }
  const std::string parent = Parent(dir);
  if (::stat(parent.c_str(), &p) != 0) return ErrnoStatus("stat", parent, errno);
  return d.st_dev != p.st_dev;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

StatusOr<std::string> SealNodeKey(const SecretBytes& kek, const SecretBytes& key_pem) {
  return crypto::Seal(kek, 0, kNodeKeyAad, key_pem.span());
}

StatusOr<SecretBytes> OpenNodeKey(const SecretBytes& kek, std::string_view sealed) {
  return crypto::Open(kek, kNodeKeyAad, sealed);
}

IdentityVault::~IdentityVault() { Uncover(); }

Status IdentityVault::ClearStale(const CertificatePaths& paths) {
  for (int i = 0; i < 8; ++i) {
    ASSIGN_OR_RETURN(bool covered, IsCovered(paths.dir));
    if (!covered) return absl::OkStatus();
    spdlog::info("unmounting the identity tmpfs a previous run left at {}", paths.dir);
    if (::umount2(paths.dir.c_str(), MNT_DETACH) != 0) {
      return ErrnoStatus("umount", paths.dir, errno);
    }
  }
  return absl::FailedPreconditionError("too many mounts over " + paths.dir);
}

bool IdentityVault::HasSealedKey() const {
  if (covered()) {
    struct stat st;
    return ::fstatat(under_.get(), kSealedNodeKeyName, &st, AT_SYMLINK_NOFOLLOW) == 0;
  }
  return Exists(paths_.dir + "/" + kSealedNodeKeyName);
}

Status IdentityVault::Cover(const SecretBytes& kek) {
  if (covered()) return absl::OkStatus();
  RETURN_IF_ERROR(EnsureDir(paths_.dir, 0700));
  // What goes into the tmpfs, read before it hides the directory.
  std::string root_ca, cert;
  SecretBytes key;
  const bool has_identity = Exists(paths_.cert);
  if (has_identity) {
    ASSIGN_OR_RETURN(root_ca, ReadWholeFile(paths_.root_ca));
    ASSIGN_OR_RETURN(cert, ReadWholeFile(paths_.cert));
    const std::string sealed_path = paths_.dir + "/" + kSealedNodeKeyName;
    if (Exists(sealed_path)) {
      ASSIGN_OR_RETURN(SecretBytes sealed, crypto::ReadPrivateFile(sealed_path, kMaxSealedKeySize));
      ASSIGN_OR_RETURN(key, OpenNodeKey(kek, sealed.view()));
    } else {
      ASSIGN_OR_RETURN(key, ca::ReadNodeKeyFile(paths_.key));
    }
  }
  UniqueFd under(::open(paths_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!under.valid()) return ErrnoStatus("open", paths_.dir, errno);
  if (::mount("tmpfs", paths_.dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0700,size=1m") != 0) {
    return ErrnoStatus("mount tmpfs on", paths_.dir, errno);
  }
  under_ = std::move(under);
  if (!has_identity) return absl::OkStatus();
  Status s = ca::WriteCertFile(paths_.root_ca, root_ca);
  if (s.ok()) s = ca::WriteCertFile(paths_.cert, cert);
  if (s.ok()) s = ca::WriteNodeKeyFile(paths_.key, key);
  if (!s.ok()) Uncover();
  return s;
}

Status IdentityVault::WriteUnder(const std::string& name, std::string_view data, mode_t mode) {
  const std::string tmp = "." + name + ".tmp";
  (void)::unlinkat(under_.get(), tmp.c_str(), 0);
  UniqueFd fd(::openat(under_.get(), tmp.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  const std::string shown = paths_.dir + "/" + name + " (underneath)";
  if (!fd.valid()) return ErrnoStatus("create", shown, errno);
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus("write", shown, errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", shown, errno);
  if (::renameat(under_.get(), tmp.c_str(), under_.get(), name.c_str()) != 0) {
    return ErrnoStatus("rename", shown, errno);
  }
  if (::fsync(under_.get()) != 0) return ErrnoStatus("fsync", paths_.dir, errno);
  return absl::OkStatus();
}

Status IdentityVault::RemoveUnder(const std::string& name) {
  if (::unlinkat(under_.get(), name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoStatus("unlink", paths_.dir + "/" + name + " (underneath)", errno);
  }
  if (::fsync(under_.get()) != 0) return ErrnoStatus("fsync", paths_.dir, errno);
  return absl::OkStatus();
}

Status IdentityVault::SyncUnderneath(const SecretBytes& kek, bool sealed) {
  if (!covered()) return absl::FailedPreconditionError("the identity directory is not covered");
  ASSIGN_OR_RETURN(std::string root_ca, ReadWholeFile(paths_.root_ca));
  ASSIGN_OR_RETURN(std::string cert, ReadWholeFile(paths_.cert));
  ASSIGN_OR_RETURN(SecretBytes key, ca::ReadNodeKeyFile(paths_.key));
  RETURN_IF_ERROR(WriteUnder(Base(paths_.root_ca), root_ca, 0644));
  RETURN_IF_ERROR(WriteUnder(Base(paths_.cert), cert, 0644));
  if (sealed) {
    ASSIGN_OR_RETURN(std::string envelope, SealNodeKey(kek, key));
    RETURN_IF_ERROR(WriteUnder(kSealedNodeKeyName, envelope, 0600));
    return RemoveUnder(Base(paths_.key));
  }
  RETURN_IF_ERROR(WriteUnder(Base(paths_.key), key.view(), 0600));
  return RemoveUnder(kSealedNodeKeyName);
}

void IdentityVault::Uncover() {
  if (!covered()) return;
  if (::umount2(paths_.dir.c_str(), MNT_DETACH) != 0) {
    spdlog::error("unmounting the identity tmpfs at {}: {}", paths_.dir, std::strerror(errno));
  }
  under_.Reset();
}

}  // namespace capsule::node
