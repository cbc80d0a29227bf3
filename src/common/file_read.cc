#include "common/file_read.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/errno_status.h"
#include "common/unique_fd.h"

namespace capsule {

StatusOr<std::string> ReadWholeFile(const std::string& path, int extra_open_flags) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | extra_open_flags));
  if (!fd.valid()) return ErrnoStatus("open", path, errno);
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t r = ::read(fd.get(), buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

std::string ReadFileOrEmpty(const std::string& path) {
  StatusOr<std::string> content = ReadWholeFile(path);
  return content.ok() ? std::move(*content) : std::string();
}

}  // namespace capsule
