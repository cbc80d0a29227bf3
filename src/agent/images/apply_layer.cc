// ApplyLayer (declared in apply_layer.h).
#include "agent/images/apply_layer.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "agent/images/rootfs_fs.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaqueWhiteout[] = ".wh..wh..opq";

struct DirTime {
  std::string path;
  int64_t mtime;
};

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

timespec Times(int64_t mtime) { return timespec{static_cast<time_t>(mtime), 0}; }

// Removes every child of dir (relative to root) that this layer did not itself unpack.
Status EmptyForOpaque(int root_fd, const std::string& dir, const std::set<std::string>& ours) {
  ASSIGN_OR_RETURN(UniqueFd pfd, OpenDirInRoot(root_fd, dir, true));
  int fd = ::openat(pfd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open", dir, errno);
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    ::close(fd);
    return ErrnoStatus("opendir", dir, errno);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  for (const std::string& n : names) {
    const std::string child = dir.empty() ? n : dir + "/" + n;
    if (ours.count(child) == 0) RETURN_IF_ERROR(RemoveAllAt(pfd.get(), n));
  }
  return absl::OkStatus();
}

class Applier {
 public:
  Applier(TarReader& tar, int root_fd) : tar_(tar), root_(root_fd) {}

  Status Run() {
    TarEntry e;
    for (;;) {
      ASSIGN_OR_RETURN(bool more, tar_.Next(&e));
      if (!more) break;
      RETURN_IF_ERROR(One(e));
    }
    // Directory times last: creating children changes them.
    for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
      // A directory replaced by a later entry no longer is one: nothing to date.
      StatusOr<UniqueFd> fd = OpenDirInRoot(root_, it->path, false);
      if (!fd.ok()) continue;
      const timespec ts[2] = {Times(it->mtime), Times(it->mtime)};
      int rfd = ::openat(fd->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (rfd >= 0) {
        ::futimens(rfd, ts);
        ::close(rfd);
      }
    }
    return absl::OkStatus();
  }

 private:
  Status One(const TarEntry& e) {
    ASSIGN_OR_RETURN(std::string clean, CleanArchivePath(e.path));
    auto [parent, base] = SplitParent(clean);
    if (base.empty()) {  // the root directory itself: only its metadata
      if (e.type == TarType::kDir) return Metadata(root_, ".", e, true);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(UniqueFd dir, OpenDirInRoot(root_, parent, true));
    if (base == kOpaqueWhiteout) return EmptyForOpaque(root_, parent, unpacked_);
    if (StartsWith(base, kWhiteoutPrefix)) {
      const std::string victim = base.substr(std::strlen(kWhiteoutPrefix));
      if (victim.empty() || victim == "." || victim == "..") return absl::OkStatus();
      return RemoveAllAt(dir.get(), victim);
    }
    unpacked_.insert(clean);
    struct stat st;
    const bool exists = ::fstatat(dir.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && !(S_ISDIR(st.st_mode) && e.type == TarType::kDir)) {
      RETURN_IF_ERROR(RemoveAllAt(dir.get(), base));
    }
    switch (e.type) {
      case TarType::kDir:
        if (!exists || !S_ISDIR(st.st_mode)) {
          if (::mkdirat(dir.get(), base.c_str(), 0700) != 0) {
            return ErrnoStatus("mkdir", clean, errno);
          }
        }
        dir_times_.push_back({clean, e.mtime});
        return Metadata(dir.get(), base, e, true);
      case TarType::kFile:
      case TarType::kOther:
        if (e.type == TarType::kOther) return tar_.ReadData([](auto) { return absl::OkStatus(); });
        return File(dir.get(), base, clean, e);
      case TarType::kSymlink:
        if (::symlinkat(e.linkname.c_str(), dir.get(), base.c_str()) != 0) {
          return ErrnoStatus("symlink", clean, errno);
        }
        return Metadata(dir.get(), base, e, false);
      case TarType::kHardlink:
        return Hardlink(dir.get(), base, clean, e);
      case TarType::kFifo:
        if (::mknodat(dir.get(), base.c_str(), S_IFIFO | 0600, 0) != 0) {
          return ErrnoStatus("mkfifo", clean, errno);
        }
        return Metadata(dir.get(), base, e, true);
      case TarType::kCharDev:
      case TarType::kBlockDev:
        unpacked_.erase(clean);
        return absl::OkStatus();  // devices are not needed in a task rootfs (runc adds /dev)
    }
    return absl::OkStatus();
  }

  Status File(int dir_fd, const std::string& base, const std::string& clean, const TarEntry& e) {
    int fd =
        ::openat(dir_fd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoStatus("create", clean, errno);
    UniqueFd file(fd);
    RETURN_IF_ERROR(
        tar_.ReadData([&](std::string_view piece) { return WriteAll(file.get(), piece, clean); }));
    if (::fchown(file.get(), e.uid, e.gid) != 0) return ErrnoStatus("chown", clean, errno);
    if (::fchmod(file.get(), e.mode) != 0) return ErrnoStatus("chmod", clean, errno);
    const timespec ts[2] = {Times(e.mtime), Times(e.mtime)};
    ::futimens(file.get(), ts);
    return absl::OkStatus();
  }

  Status Hardlink(int dir_fd, const std::string& base, const std::string& clean,
                  const TarEntry& e) {
    ASSIGN_OR_RETURN(std::string target, CleanArchivePath(e.linkname));
    auto [tparent, tbase] = SplitParent(target);
    if (tbase.empty()) return absl::InvalidArgumentError("invalid hard link to the root: " + clean);
    // The target's directory is resolved inside the root, and linkat does not follow a
    // final symlink: the new name always refers to an inode of this rootfs.
    ASSIGN_OR_RETURN(UniqueFd tdir, OpenDirInRoot(root_, tparent, false));
    if (::linkat(tdir.get(), tbase.c_str(), dir_fd, base.c_str(), 0) != 0) {
      return ErrnoStatus("link", clean, errno);
    }
    return absl::OkStatus();
  }

  // Owner, mode (not for symlinks) and times of dir_fd/name, never following a symlink.
  Status Metadata(int dir_fd, const std::string& name, const TarEntry& e, bool chmod_it) {
    if (::fchownat(dir_fd, name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("chown", name, errno);
    }
    if (chmod_it) {
      int fd = ::openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return ErrnoStatus("open", name, errno);
      UniqueFd f(fd);
      // chmod through /proc/self/fd works for O_PATH descriptors of any file type.
      const std::string proc = "/proc/self/fd/" + std::to_string(fd);
      if (::chmod(proc.c_str(), e.mode) != 0) return ErrnoStatus("chmod", name, errno);
    }
    if (e.type != TarType::kDir) {
      const timespec ts[2] = {Times(e.mtime), Times(e.mtime)};
      ::utimensat(dir_fd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
    }
    return absl::OkStatus();
  }

  TarReader& tar_;
  int root_;
  std::set<std::string> unpacked_;
  std::vector<DirTime> dir_times_;
};

}  // namespace

Status ApplyLayer(TarReader& tar, int root_fd) { return Applier(tar, root_fd).Run(); }

}  // namespace capsule::agent
