#include "agent/executor/secret_mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

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

Status WriteSecretFile(int dir, const std::string& dir_path, const std::string& name,
                       const SecretFile& s) {
  const std::string path = absl::StrCat(dir_path, "/", name);
  UniqueFd fd(
      ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoStatus("create", path, errno);
  RETURN_IF_ERROR(WriteAll(fd.get(), s.data->view(), path));
  if (::fchown(fd.get(), s.uid, s.gid) != 0) return ErrnoStatus("chown", path, errno);
  if (::fchmod(fd.get(), s.mode & 07777) != 0) return ErrnoStatus("chmod", path, errno);
  if (::close(fd.Release()) != 0) return ErrnoStatus("close", path, errno);
  return absl::OkStatus();
}

StatusOr<std::vector<SecretBind>> FillAndSeal(const std::string& dir,
                                              const std::vector<SecretFile>& secrets,
                                              const std::vector<std::string>& destinations) {
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dfd.valid()) return ErrnoStatus("open", dir, errno);
  std::vector<SecretBind> binds;
  std::set<std::string> names;
  for (size_t i = 0; i < secrets.size(); ++i) {
    // One file per secret ID; a second reference to the same secret gets its own file,
    // since its owner and mode may differ.
    std::string name = secrets[i].secret_id;
    for (int n = 1; names.count(name) > 0; ++n) name = absl::StrCat(secrets[i].secret_id, ".", n);
    names.insert(name);
    RETURN_IF_ERROR(WriteSecretFile(dfd.get(), dir, name, secrets[i]));
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
                                               const std::vector<SecretFile>& secrets) {
  ASSIGN_OR_RETURN(std::vector<std::string> destinations, SecretDestinations(secrets));
  size_t pages = 4;  // headroom for the directory itself
  for (const SecretFile& s : secrets) {
    if (s.data == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("secret ", s.secret_id, ": no data"));
    }
    pages += (s.data->size() + kPage - 1) / kPage + 1;
  }
  RETURN_IF_ERROR(MakeDir(dir, 0700, /*exclusive=*/true));
  const std::string options = absl::StrCat("mode=0700,uid=0,gid=0,size=", pages * kPage,
                                           ",nr_inodes=", secrets.size() + 16);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", kSecretMountFlags, options.c_str()) != 0) {
    Status st = ErrnoStatus("mount tmpfs", dir, errno);
    ::rmdir(dir.c_str());
    return st;
  }
  StatusOr<std::vector<SecretBind>> binds = FillAndSeal(dir, secrets, destinations);
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
