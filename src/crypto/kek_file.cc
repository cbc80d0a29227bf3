// LoadOrCreateKekFile (declared in keyring.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/ids.h"
#include "crypto/aead.h"
#include "crypto/keyring.h"
#include "crypto/random.h"

namespace capsule::crypto {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error (close errors matter after writing).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, const uint8_t* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

Status FsyncDir(const std::string& dir) {
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() < 0) return ErrnoStatus("open", dir, errno);
  if (::fsync(d.get()) != 0) return ErrnoStatus("fsync", dir, errno);
  return absl::OkStatus();
}

// Writes a fresh KEK to a temporary file in the same directory and renames it into place
// without replacing anything (RENAME_NOREPLACE): if another process won the race, its
// file is the KEK. AlreadyExists from here means "someone else created it".
Status CreateKekFile(const std::string& path) {
  const std::string tmp = absl::StrCat(path, ".tmp-", NewId());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return ErrnoStatus("create", tmp, errno);
  SecretBytes kek = RandomKey(kKeySize);
  Status st = WriteAll(fd.get(), kek.data(), kek.size(), tmp);
  if (st.ok() && ::fchmod(fd.get(), 0600) != 0) st = ErrnoStatus("chmod", tmp, errno);
  if (st.ok() && ::fsync(fd.get()) != 0) st = ErrnoStatus("fsync", tmp, errno);
  if (st.ok() && fd.Close() != 0) st = ErrnoStatus("close", tmp, errno);
  if (st.ok() &&
      ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    st = ErrnoStatus("rename", path, errno);
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(DirName(path));
}

StatusOr<SecretBytes> ReadKekFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("KEK file ", path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::FailedPreconditionError(absl::StrCat(
        "KEK file ", path, " has mode ", mode, "; it must not be accessible by group or others"));
  }
  if (st.st_size != static_cast<off_t>(kKeySize)) {
    return absl::FailedPreconditionError(
        absl::StrCat("KEK file ", path, " has size ", st.st_size, ", expected ", kKeySize));
  }
  SecretBytes kek(kKeySize);
  size_t got = 0;
  while (got < kKeySize) {
    ssize_t r = ::read(fd.get(), kek.data() + got, kKeySize - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (r == 0) {
      return absl::FailedPreconditionError(absl::StrCat("KEK file ", path, " is truncated"));
    }
    got += static_cast<size_t>(r);
  }
  return kek;
}

}  // namespace

StatusOr<SecretBytes> LoadOrCreateKekFile(const std::string& path) {
  StatusOr<SecretBytes> kek = ReadKekFile(path);
  if (kek.ok() || !absl::IsNotFound(kek.status())) return kek;
  Status created = CreateKekFile(path);
  if (!created.ok() && !absl::IsAlreadyExists(created)) return created;
  return ReadKekFile(path);
}

}  // namespace capsule::crypto
