#include "common/errno_status.h"

#include <cerrno>
#include <cstring>
#include <string>


namespace capsule {

Status ErrnoStatus(std::string_view op, std::string_view path, int err) {
  std::string msg(op);
  if (!path.empty()) msg.append(" ").append(path);
  msg.append(": ").append(std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EINVAL:
      return absl::InvalidArgumentError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace capsule
