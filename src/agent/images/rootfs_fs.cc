// Confined file-system helpers (declared in rootfs_fs.h).
#include "agent/images/rootfs_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "common/errno_status.h"
#include "common/mutex.h"

namespace capsule::agent {
namespace {

std::vector<std::string> Components(const std::string& clean) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < clean.size()) {
    size_t slash = clean.find('/', i);
    if (slash == std::string::npos) slash = clean.size();
    out.push_back(clean.substr(i, slash - i));
    i = slash + 1;
  }
  return out;
}

Status NotRegularFile(const std::string& rel) {
  return absl::InvalidArgumentError(rel + " is not a regular file");
}

Mutex tree_size_mu;
int64_t tree_size_total ABSL_GUARDED_BY(tree_size_mu) = 0;  // nftw has no user pointer

}  // namespace

int OpenInRoot(int root_fd, const std::string& rel, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {  // EAGAIN: a rename raced with RESOLVE_IN_ROOT's walk; the kernel asks to retry
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof(how));
    if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);
  }
}

StatusOr<std::string> CleanArchivePath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t slash = path.find('/', i);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(i, slash - i);
    i = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return absl::InvalidArgumentError("invalid tar archive: path \"" + path +
                                          "\" escapes the root file system");
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(std::move(part));
  }
  std::string out;
  for (const std::string& p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

std::pair<std::string, std::string> SplitParent(const std::string& clean) {
  const size_t slash = clean.rfind('/');
  if (slash == std::string::npos) return {"", clean};
  return {clean.substr(0, slash), clean.substr(slash + 1)};
}

StatusOr<UniqueFd> OpenDirInRoot(int root_fd, const std::string& rel, bool create) {
  const std::string path = rel.empty() ? "." : rel;
  int fd = OpenInRoot(root_fd, path, O_PATH | O_DIRECTORY);
  if (fd >= 0) return UniqueFd(fd);
  if (errno != ENOENT || !create) return ErrnoStatus("open", rel, errno);
  // Walk down, creating what is missing; each prefix is resolved in root again.
  UniqueFd cur(OpenInRoot(root_fd, ".", O_PATH | O_DIRECTORY));
  if (cur.get() < 0) return ErrnoStatus("open", ".", errno);
  std::string sofar;
  for (const std::string& comp : Components(rel)) {
    sofar += (sofar.empty() ? "" : "/") + comp;
    int next = OpenInRoot(root_fd, sofar, O_PATH | O_DIRECTORY);
    bool made = false;
    if (next < 0 && errno == ENOENT) {
      made = ::mkdirat(cur.get(), comp.c_str(), 0755) == 0;
      if (!made && errno != EEXIST) return ErrnoStatus("mkdir", sofar, errno);
      next = OpenInRoot(root_fd, sofar, O_PATH | O_DIRECTORY);
    }
    if (next < 0) return ErrnoStatus("open", sofar, errno);
    cur.Reset(next);
    // Exactly 0755 whatever the daemon's umask (Docker's implicit parents are 0755). Through
    // the descriptor: the name is never looked up again.
    if (made) {
      const std::string proc = "/proc/self/fd/" + std::to_string(cur.get());
      if (::chmod(proc.c_str(), 0755) != 0) return ErrnoStatus("chmod", sofar, errno);
    }
  }
  return cur;
}

StatusOr<UniqueFd> OpenFileInRoot(int root_fd, const std::string& rel) {
  // O_NONBLOCK: opening a FIFO without a writer would wait forever (and a device could do
  // anything); the type is checked on the descriptor before a byte is read.
  int fd = OpenInRoot(root_fd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENXIO || errno == ELOOP) return NotRegularFile(rel);
    return ErrnoStatus("open", rel, errno);
  }
  UniqueFd file(fd);
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return ErrnoStatus("stat", rel, errno);
  if (!S_ISREG(st.st_mode)) return NotRegularFile(rel);
  return file;
}

Status RemoveAllAt(int dir_fd, const std::string& name) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? absl::OkStatus() : ErrnoStatus("stat", name, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoStatus("unlink", name, errno);
    }
    return absl::OkStatus();
  }
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", name, errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return ErrnoStatus("opendir", name, errno);
  }
  std::vector<std::string> children;
  while (dirent* ent = ::readdir(d)) {
    if (std::strcmp(ent->d_name, ".") == 0 || std::strcmp(ent->d_name, "..") == 0) continue;
    children.emplace_back(ent->d_name);
  }
  Status st_all = absl::OkStatus();
  for (const std::string& c : children) {
    Status s = RemoveAllAt(::dirfd(d), c);
    if (!s.ok() && st_all.ok()) st_all = s;
  }
  ::closedir(d);
  RETURN_IF_ERROR(st_all);
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus("rmdir", name, errno);
  }
  return absl::OkStatus();
}

int64_t TreeSize(const std::string& dir) {
  MutexLock lock(tree_size_mu);
  tree_size_total = 0;
  ::nftw(
      dir.c_str(),
      [](const char*, const struct stat* st, int type, FTW*)
          ABSL_EXCLUSIVE_LOCKS_REQUIRED(tree_size_mu) {  // nftw calls it here, lock held
            if (type == FTW_F || type == FTW_SL) tree_size_total += st->st_size;
            return 0;
          },
      64, FTW_PHYS);
  return tree_size_total;
}

}  // namespace capsule::agent
