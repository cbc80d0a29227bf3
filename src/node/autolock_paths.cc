#include "node/autolock_paths.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/errno_status.h"
#include "common/unique_fd.h"

namespace capsule::node {
namespace {

StatusOr<bool> Exists(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return ErrnoStatus("stat", path, errno);
}

}  // namespace

std::string KekFilePath(const std::string& data_root) { return data_root + "/swarm/kek"; }
std::string AutolockBoxPath(const std::string& data_root) { return data_root + "/swarm/autolock"; }

StatusOr<bool> StartsLocked(const std::string& data_root) {
  ASSIGN_OR_RETURN(bool box, Exists(AutolockBoxPath(data_root)));
  if (!box) return false;
  ASSIGN_OR_RETURN(bool kek, Exists(KekFilePath(data_root)));
  return !kek;
}

Status RemoveFileDurably(const std::string& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus("unlink", path, errno);
  }
  const std::string dir = path.substr(0, path.find_last_of('/'));
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync", dir, errno);
  return absl::OkStatus();
}

}  // namespace capsule::node
