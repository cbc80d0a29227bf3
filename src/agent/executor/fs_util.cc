#include "agent/executor/fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/file_read.h"

namespace capsule::agent {

Status WriteAll(int fd, std::string_view data, const std::string& path_for_errors) {
  const char* p = data.data();
  size_t n = data.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path_for_errors, errno);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

StatusOr<std::string> ReadFile(const std::string& path) { return ReadWholeFile(path, O_NOFOLLOW); }

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd.valid()) return ErrnoStatus("open", tmp, errno);
  Status st = WriteAll(fd.get(), data, tmp);
  if (st.ok() && ::fchmod(fd.get(), mode) != 0) st = ErrnoStatus("chmod", tmp, errno);
  if (st.ok() && ::close(fd.Release()) != 0) st = ErrnoStatus("close", tmp, errno);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = ErrnoStatus("rename", path, errno);
  if (!st.ok()) ::unlink(tmp.c_str());
  return st;
}

Status MakeDir(const std::string& path, mode_t mode, bool exclusive) {
  if (::mkdir(path.c_str(), mode) != 0) {
    if (errno != EEXIST || exclusive) return ErrnoStatus("mkdir", path, errno);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus("stat", path, errno);
    if (!S_ISDIR(st.st_mode)) return ErrnoStatus("mkdir", path, ENOTDIR);
  }
  if (::chmod(path.c_str(), mode) != 0) return ErrnoStatus("chmod", path, errno);
  return absl::OkStatus();
}

namespace {

// Empties the directory open as `dir` (device `dev`); `path` is for messages only.
Status RemoveContents(int dir, dev_t dev, const std::string& path) {
  int dup_fd = ::dup(dir);
  if (dup_fd < 0) return ErrnoStatus("dup", path, errno);
  DIR* d = ::fdopendir(dup_fd);
  if (d == nullptr) {
    int err = errno;
    ::close(dup_fd);
    return ErrnoStatus("opendir", path, err);
  }
  Status result;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string child = absl::StrCat(path, "/", name);
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      result = ErrnoStatus("stat", child, errno);
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != dev) {
        result = absl::FailedPreconditionError(absl::StrCat("remove ", child, ": a mount point"));
        break;
      }
      UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub.valid()) {
        result = ErrnoStatus("open", child, errno);
        break;
      }
      result = RemoveContents(sub.get(), dev, child);
      if (!result.ok()) break;
      if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
        result = ErrnoStatus("rmdir", child, errno);
        break;
      }
    } else if (::unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT) {
      result = ErrnoStatus("unlink", child, errno);
      break;
    }
  }
  ::closedir(d);
  return result;
}

}  // namespace

Status RemoveTree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus("stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("unlink", path, errno);
    return absl::OkStatus();
  }
  if (IsMountPoint(path)) {
    return absl::FailedPreconditionError(absl::StrCat("remove ", path, ": a mount point"));
  }
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid()) return ErrnoStatus("open", path, errno);
  RETURN_IF_ERROR(RemoveContents(dir.get(), st.st_dev, path));
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("rmdir", path, errno);
  return absl::OkStatus();
}

bool IsMountPoint(const std::string& path) {
  struct statx stx;
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) != 0) {
    return false;
  }
  if (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
    return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  struct stat self, parent;
  if (::lstat(path.c_str(), &self) != 0) return false;
  if (::lstat(absl::StrCat(path, "/..").c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev;
}

}  // namespace capsule::agent
