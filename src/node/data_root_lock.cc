#include "node/data_root_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"

namespace capsule::node {
namespace {

// The PID the holder wrote, or "" (a holder may be between lock and write).
std::string HolderPid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return "";
  int64_t pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(std::string(buf, static_cast<size_t>(n))),
                        &pid)) {
    return "";
  }
  return absl::StrCat(pid);
}

}  // namespace

StatusOr<UniqueFd> LockDataRoot(const std::string& data_root) {
  const std::string path = data_root + "/capsuled.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return ErrnoStatus("open", path, errno);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    if (errno != EWOULDBLOCK) return ErrnoStatus("lock", path, errno);
    const std::string pid = HolderPid(fd.get());
    return absl::FailedPreconditionError(
        absl::StrCat("data root ", data_root, " is in use by another capsuled",
                     pid.empty() ? "" : absl::StrCat(" (pid ", pid, ")"), ": ", path,
                     " is locked; stop that daemon first, or use another --data-root"));
  }
  const std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd.get(), 0) != 0) return ErrnoStatus("truncate", path, errno);
  if (::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return ErrnoStatus("write", path, errno);
  }
  return fd;
}

}  // namespace capsule::node
