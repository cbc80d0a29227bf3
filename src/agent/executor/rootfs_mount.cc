#include "agent/executor/rootfs_mount.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "agent/executor/fs_util.h"
#include "common/errno_status.h"

namespace capsule::agent {

Status MountOverlay(const std::string& lower, const std::string& upper, const std::string& work,
                    const std::string& target) {
  for (const std::string* p : {&lower, &upper, &work}) {
    if (p->find_first_of(",:") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("overlay path with ',' or ':': ", *p));
    }
  }
  // The overlay's root takes the upper directory's owner and mode: give it the image's.
  struct stat root;
  if (::stat(lower.c_str(), &root) != 0) return ErrnoStatus("stat", lower, errno);
  RETURN_IF_ERROR(MakeDir(upper, root.st_mode & 07777));
  if (::chown(upper.c_str(), root.st_uid, root.st_gid) != 0) {
    return ErrnoStatus("chown", upper, errno);
  }
  RETURN_IF_ERROR(MakeDir(work, 0700));
  RETURN_IF_ERROR(MakeDir(target, 0755));
  const std::string options =
      absl::StrCat("lowerdir=", lower, ",upperdir=", upper, ",workdir=", work);
  if (::mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) {
    return ErrnoStatus("mount overlay", target, errno);
  }
  return absl::OkStatus();
}

Status UnmountOverlay(const std::string& target) {
  for (int i = 0; i < 8 && IsMountPoint(target); ++i) {
    if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) != 0) {
      if (errno == EBUSY) {
        if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
          return ErrnoStatus("unmount (detach)", target, errno);
        }
      } else if (errno != EINVAL && errno != ENOENT) {
        return ErrnoStatus("unmount", target, errno);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace capsule::agent
