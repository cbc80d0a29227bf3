#include "agent/executor/secret_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/executor/fs_util.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

constexpr unsigned long kSecretMountFlags = MS_NODEV | MS_NOSUID | MS_NOEXEC;
constexpr size_t kPage = 4096;
// The largest secret (Docker's limit is 500 KiB; 512000 bytes here as in controlapi).
constexpr size_t kMaxRefreshedBytes = 512000;

Status BadTarget(const std::string& target, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid secret target \"", target, "\": ", why));
}

StatusOr<std::string> Destination(const std::string& target) {
  if (target.empty()) return BadTarget(target, "empty");
  if (target.find('\0') != std::string::npos) return BadTarget(target, "contains a NUL byte");
  const bool absolute = target[0] == '/';
  const std::string rel = absolute ? target.substr(1) : target;
  if (rel.empty()) return BadTarget(target, "no file name");
  for (absl::string_view part : absl::StrSplit(rel, '/')) {
    if (part.empty()) return BadTarget(target, "empty path component");
    if (part == "." || part == "..") return BadTarget(target, "\".\" or \"..\" path component");
  }
  return absolute ? target : absl::StrCat("/run/secrets/", target);
}

bool ValidSecretId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

Status WriteSecretFile(int dir, const std::string& dir_path, const std::string& sep,
                       const std::string& name, const SecretFile& s) {
  // `sep` "/" joins dir_path and name for messages; "" when dir_path is the file's own path.
  const std::string path = sep.empty() ? dir_path : absl::StrCat(dir_path, sep, name);
  UniqueFd fd(
      ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("create", path, errno);
  RETURN_IF_ERROR(WriteAll(fd.get(), s.data->view(), path));
  if (::fchown(fd.get(), s.uid, s.gid) != 0) return ErrnoStatus("chown", path, errno);
  if (::fchmod(fd.get(), s.mode & 07777) != 0) return ErrnoStatus("chmod", path, errno);
  if (::close(fd.Release()) != 0) return ErrnoStatus("close", path, errno);
  return absl::OkStatus();
}

// The path of `destination` relative to /run/secrets; "" when it is not inside it.
std::string InsideRunSecrets(const std::string& destination) {
  const std::string prefix = absl::StrCat(kRunSecrets, "/");
  if (destination.size() <= prefix.size() || destination.compare(0, prefix.size(), prefix) != 0) {
    return "";
  }
  return destination.substr(prefix.size());
}

// Opens (creating 0755 where missing) the directories of `rel`'s parent under `root`; returns
// the parent's fd and sets *leaf to the file name.
StatusOr<UniqueFd> OpenParent(int root, const std::string& root_path, const std::string& rel,
                              std::string* leaf) {
  std::vector<std::string> parts = absl::StrSplit(rel, '/');
  *leaf = parts.back();
  parts.pop_back();
  UniqueFd cur(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return ErrnoStatus("dup", root_path, errno);
  std::string path = root_path;
  for (const std::string& part : parts) {
    path = absl::StrCat(path, "/", part);
    if (::mkdirat(cur.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus("mkdir", path, errno);
    }
    UniqueFd next(
        ::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return ErrnoStatus("open", path, errno);
    cur = std::move(next);
  }
  return cur;
}

// The refresh layout's part: items inside /run/secrets go under kRefreshDir (→ one bind).
StatusOr<std::vector<SecretBind>> FillRefreshDir(int dfd, const std::string& dir,
                                                 const std::vector<SecretFile>& secrets,
                                                 const std::vector<std::string>& destinations,
                                                 std::vector<bool>* placed) {
  std::vector<SecretBind> binds;
  const std::string root_path = absl::StrCat(dir, "/", kRefreshDir);
  UniqueFd root;
  for (size_t i = 0; i < secrets.size(); ++i) {
    const std::string rel = InsideRunSecrets(destinations[i]);
    if (rel.empty()) continue;
    if (!root.valid()) {
      if (::mkdirat(dfd, kRefreshDir, 0755) != 0) return ErrnoStatus("mkdir", root_path, errno);
      if (::fchmodat(dfd, kRefreshDir, 0755, 0) != 0) return ErrnoStatus("chmod", root_path, errno);
      root = UniqueFd(::openat(dfd, kRefreshDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!root.valid()) return ErrnoStatus("open", root_path, errno);
      binds.push_back({root_path, kRunSecrets});
    }
    std::string leaf;
    ASSIGN_OR_RETURN(UniqueFd parent, OpenParent(root.get(), root_path, rel, &leaf));
    RETURN_IF_ERROR(
        WriteSecretFile(parent.get(), absl::StrCat(root_path, "/", rel), "", leaf, secrets[i]));
    (*placed)[i] = true;
  }
  return binds;
}

StatusOr<std::vector<SecretBind>> FillAndSeal(const std::string& dir,
                                              const std::vector<SecretFile>& secrets,
                                              const std::vector<std::string>& destinations,
                                              bool refresh_layout) {
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dfd.valid()) return ErrnoStatus("open", dir, errno);
  std::vector<SecretBind> binds;
  std::vector<bool> placed(secrets.size(), false);
  if (refresh_layout) {
    ASSIGN_OR_RETURN(binds, FillRefreshDir(dfd.get(), dir, secrets, destinations, &placed));
  }
  std::set<std::string> names;
  for (size_t i = 0; i < secrets.size(); ++i) {
    if (placed[i]) continue;
    // One file per secret ID; a second reference to the same secret gets its own file,
    // since its owner and mode may differ.
    std::string name = secrets[i].secret_id;
    for (int n = 1; names.count(name) > 0; ++n) name = absl::StrCat(secrets[i].secret_id, ".", n);
    names.insert(name);
    RETURN_IF_ERROR(WriteSecretFile(dfd.get(), dir, "/", name, secrets[i]));
    binds.push_back({absl::StrCat(dir, "/", name), destinations[i]});
  }
  if (::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | kSecretMountFlags, nullptr) !=
      0) {
    return ErrnoStatus("remount read-only", dir, errno);
  }
  return binds;
}

}  // namespace

StatusOr<std::vector<std::string>> SecretDestinations(const std::vector<SecretFile>& secrets) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const SecretFile& s : secrets) {
    if (!ValidSecretId(s.secret_id)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid secret ID \"", s.secret_id, "\""));
    }
    ASSIGN_OR_RETURN(std::string dest, Destination(s.target));
    if (!seen.insert(dest).second) return BadTarget(s.target, "used by more than one secret");
    out.push_back(std::move(dest));
  }
  return out;
}

StatusOr<std::vector<SecretBind>> MountSecrets(const std::string& dir,
                                               const std::vector<SecretFile>& secrets,
                                               bool refresh_layout) {
  ASSIGN_OR_RETURN(std::vector<std::string> destinations, SecretDestinations(secrets));
  size_t pages = 4;  // headroom for the directory itself
  size_t inodes = secrets.size() + 16;
  for (size_t i = 0; i < secrets.size(); ++i) {
    const SecretFile& s = secrets[i];
    if (s.data == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("secret ", s.secret_id, ": no data"));
    }
    pages += (s.data->size() + kPage - 1) / kPage + 1;
    if (refresh_layout && !InsideRunSecrets(destinations[i]).empty()) {
      // Room for a swap: a maximal new version beside the old one, and its directories.
      pages += (kMaxRefreshedBytes + kPage - 1) / kPage + 1;
      inodes +=
          2 + static_cast<size_t>(std::count(destinations[i].begin(), destinations[i].end(), '/'));
    }
  }
  RETURN_IF_ERROR(MakeDir(dir, 0700, /*exclusive=*/true));
  const std::string options =
      absl::StrCat("mode=0700,uid=0,gid=0,size=", pages * kPage, ",nr_inodes=", inodes);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", kSecretMountFlags, options.c_str()) != 0) {
    Status st = ErrnoStatus("mount tmpfs", dir, errno);
    ::rmdir(dir.c_str());
    return st;
  }
  StatusOr<std::vector<SecretBind>> binds = FillAndSeal(dir, secrets, destinations, refresh_layout);
  if (!binds.ok()) {
    // The files die with the tmpfs: nothing of the data outlives the failed attempt.
    UnmountSecrets(dir).IgnoreError();
  }
  return binds;
}

Status UnmountSecrets(const std::string& dir) {
  // A tmpfs may have been mounted more than once at the same place (a crash between mount
  // and cleanup); unmount until the directory is a plain directory again.
  for (int i = 0; i < 8 && IsMountPoint(dir); ++i) {
    if (::umount2(dir.c_str(), UMOUNT_NOFOLLOW) != 0) {
      if (errno == EBUSY) {
        if (::umount2(dir.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
          return ErrnoStatus("unmount (detach)", dir, errno);
        }
      } else if (errno != EINVAL && errno != ENOENT) {
        return ErrnoStatus("unmount", dir, errno);
      }
    }
  }
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) return ErrnoStatus("rmdir", dir, errno);
  return absl::OkStatus();
}

}  // namespace capsule::agent
