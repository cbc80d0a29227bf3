#include "agent/executor/secret_swap.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "absl/strings/str_cat.h"
#include "agent/executor/fs_util.h"
#include "agent/executor/secret_mount.h"
#include "common/errno_status.h"
#include "common/secret_bytes.h"
#include "common/unique_fd.h"

namespace capsule::agent {
namespace {

constexpr unsigned long kSecretMountFlags = MS_NODEV | MS_NOSUID | MS_NOEXEC;
constexpr char kSwapName[] = ".swap";

// Whether `fd` holds exactly `file`'s data, owner and mode.
bool AlreadyHolds(int fd, const SecretFile& file) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  if (st.st_uid != file.uid || st.st_gid != file.gid ||
      (st.st_mode & 07777) != (file.mode & 07777) ||
      static_cast<size_t>(st.st_size) != file.data->size()) {
    return false;
  }
  SecretBytes have(file.data->size());
  size_t got = 0;
  while (got < have.size()) {
    ssize_t n = ::pread(fd, have.data() + got, have.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return have.Equals(file.data->span());
}

// Zeros over the file's length, then truncation (the fd must be writable).
void Wipe(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return;
  static const char kZeros[4096] = {};
  off_t off = 0;
  while (off < st.st_size) {
    const size_t len = static_cast<size_t>(std::min<off_t>(st.st_size - off, sizeof(kZeros)));
    ssize_t n = ::pwrite(fd, kZeros, len, off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += n;
  }
  if (::ftruncate(fd, 0) != 0) return;  // the zeros are in place already
}

// Writable for the swap; read-only again when destroyed. The host's mount of the tmpfs is
// made read-only per mount (always possible once our own fds are closed); the superblock is
// made read-only too when it can be — an old inode still open in the task (unlinked, not yet
// closed) makes that EBUSY, and then every mount of it is read-only anyway (the task's bind
// is, per mount, from runc's "ro").
class WritableWhileAlive {
 public:
  explicit WritableWhileAlive(std::string dir) : dir_(std::move(dir)) {}
  Status Open() {
    if (::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | kSecretMountFlags, nullptr) != 0) {
      return ErrnoStatus("remount read-write", dir_, errno);
    }
    open_ = true;
    if (::mount(nullptr, dir_.c_str(), nullptr, MS_BIND | MS_REMOUNT | kSecretMountFlags,
                nullptr) != 0) {
      return ErrnoStatus("remount read-write (mount)", dir_, errno);
    }
    return absl::OkStatus();
  }
  ~WritableWhileAlive() {
    if (!open_) return;
    if (::mount(nullptr, dir_.c_str(), nullptr,
                MS_BIND | MS_REMOUNT | MS_RDONLY | kSecretMountFlags, nullptr) != 0) {
      spdlog::error("secret swap: {}",
                    ErrnoStatus("remount read-only (mount)", dir_, errno).ToString());
    }
    if (::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | kSecretMountFlags,
                nullptr) != 0 &&
        errno != EBUSY) {
      spdlog::warn("secret swap: {}", ErrnoStatus("remount read-only", dir_, errno).ToString());
    }
  }

 private:
  const std::string dir_;
  bool open_ = false;
};

}  // namespace

StatusOr<bool> SwapSecretFile(const std::string& dir, const SecretFile& file,
                              const std::function<void()>& swapped,
                              std::chrono::milliseconds grace) {
  if (file.data == nullptr) return absl::InvalidArgumentError("secret swap: no data");
  ASSIGN_OR_RETURN(std::vector<std::string> dests, SecretDestinations({file}));
  const std::string prefix = absl::StrCat(kRunSecrets, "/");
  if (dests[0].compare(0, prefix.size(), prefix) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("secret ", file.secret_id, " at ", dests[0],
                     " cannot be refreshed: live refresh needs a target inside /run/secrets"));
  }
  const std::string rel = dests[0].substr(prefix.size());
  const size_t slash = rel.rfind('/');
  const std::string parent_rel = slash == std::string::npos
                                     ? kRefreshDir
                                     : absl::StrCat(kRefreshDir, "/", rel.substr(0, slash));
  const std::string leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
  const std::string path = absl::StrCat(dir, "/", kRefreshDir, "/", rel);

  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus("open", dir, errno);
  UniqueFd parent(
      ::openat(root.get(), parent_rel.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent.valid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "secret ", file.secret_id, ": the task's secrets are not laid out for refresh"));
  }
  {
    UniqueFd cur(::openat(parent.get(), leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!cur.valid()) {
      return absl::FailedPreconditionError(absl::StrCat("secret file ", path, " is missing"));
    }
    if (AlreadyHolds(cur.get(), file)) return false;
  }

  WritableWhileAlive writable(dir);
  RETURN_IF_ERROR(writable.Open());
  // A temporary file left by a crash in an earlier swap goes first.
  if (::unlinkat(root.get(), kSwapName, 0) != 0 && errno != ENOENT) {
    return ErrnoStatus("unlink", absl::StrCat(dir, "/", kSwapName), errno);
  }
  const std::string tmp_path = absl::StrCat(dir, "/", kSwapName);
  {
    UniqueFd tmp(::openat(root.get(), kSwapName,
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!tmp.valid()) return ErrnoStatus("create", tmp_path, errno);
    Status written = WriteAll(tmp.get(), file.data->view(), tmp_path);
    if (written.ok() && ::fchown(tmp.get(), file.uid, file.gid) != 0) {
      written = ErrnoStatus("chown", tmp_path, errno);
    }
    if (written.ok() && ::fchmod(tmp.get(), file.mode & 07777) != 0) {
      written = ErrnoStatus("chmod", tmp_path, errno);
    }
    if (!written.ok()) {
      Wipe(tmp.get());
      ::unlinkat(root.get(), kSwapName, 0);
      return written;
    }
  }
  UniqueFd old(::openat(parent.get(), leaf.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (::renameat(root.get(), kSwapName, parent.get(), leaf.c_str()) != 0) {
    Status st = ErrnoStatus("rename", path, errno);
    UniqueFd tmp(::openat(root.get(), kSwapName, O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (tmp.valid()) Wipe(tmp.get());
    ::unlinkat(root.get(), kSwapName, 0);
    return st;
  }
  if (swapped) swapped();
  if (old.valid()) {
    // Readers that opened the old file just before the rename finish with it first.
    if (grace.count() > 0) std::this_thread::sleep_for(grace);
    Wipe(old.get());
  }
  return true;
}

}  // namespace capsule::agent
