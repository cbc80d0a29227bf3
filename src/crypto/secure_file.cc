#include "crypto/secure_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/ids.h"

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
  // Closes now and reports the result (close errors matter after writing).
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

}  // namespace

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> data, mode_t mode,
                       bool replace) {
  const std::string tmp = absl::StrCat(path, ".tmp-", NewId());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (fd.get() < 0) return ErrnoStatus("create", tmp, errno);
  Status st = WriteAll(fd.get(), data.data(), data.size(), tmp);
  // The umask may only have removed bits; set exactly `mode`.
  if (st.ok() && ::fchmod(fd.get(), mode) != 0) st = ErrnoStatus("chmod", tmp, errno);
  if (st.ok() && ::fsync(fd.get()) != 0) st = ErrnoStatus("fsync", tmp, errno);
  if (st.ok() && fd.Close() != 0) st = ErrnoStatus("close", tmp, errno);
  if (st.ok()) {
    int rc = replace ? ::rename(tmp.c_str(), path.c_str())
                     : ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
    if (rc != 0) st = ErrnoStatus("rename", path, errno);
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return FsyncDir(DirName(path));
}

StatusOr<SecretBytes> ReadPrivateFile(const std::string& path, size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has mode ", mode, "; it must not be accessible by group or others"));
  }
  if (st.st_size < 0 || static_cast<size_t>(st.st_size) > max_size) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has size ", st.st_size, ", at most ", max_size, " expected"));
  }
  SecretBytes out(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = ::read(fd.get(), out.data() + got, out.size() - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (r == 0) break;  // shrank while reading
    got += static_cast<size_t>(r);
  }
  out.Truncate(got);
  return out;
}

}  // namespace capsule::crypto
