#include "agent/executor/user_spec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "agent/executor/fs_util.h"
#include "agent/images/rootfs_fs.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

Status NotRegular(const std::string& rel) {
  return absl::InvalidArgumentError(absl::StrCat("invalid image: ", rel, " is not a regular file"));
}

struct Entry {
  std::string name;
  uint32_t id = 0;
  uint32_t gid = 0;                  // passwd only
  std::vector<std::string> members;  // group only
};

// Reads `rel` (e.g. "etc/passwd") inside `rootfs`; a missing file reads as empty. The image
// is not trusted: symlinks are resolved as if `rootfs` were "/" (never reaching the host), the
// open never blocks (O_NONBLOCK: a FIFO has no writer) and only a regular file is read.
StatusOr<std::string> ReadInRoot(const std::string& rootfs, const std::string& rel) {
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus("open", rootfs, errno);
  const std::string path = absl::StrCat(rootfs, "/", rel);
  UniqueFd fd(OpenInRoot(root.get(), rel, O_RDONLY | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return std::string();
    if (errno == ELOOP || errno == ENXIO) return NotRegular(rel);  // a link loop, a socket
    return ErrnoStatus("open", path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("stat", path, errno);
  if (!S_ISREG(st.st_mode)) return NotRegular(rel);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t r = ::read(fd.get(), buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read", path, errno);
    }
    if (r == 0 || out.size() > (16u << 20)) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

// passwd: name:password:uid:gid:...   group: name:password:gid:member,member
std::vector<Entry> Parse(const std::string& text, bool is_group) {
  std::vector<Entry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f = absl::StrSplit(line, ':');
    if (f.size() < (is_group ? 3u : 4u)) continue;
    Entry e;
    e.name = f[0];
    if (!absl::SimpleAtoi(f[2], &e.id)) continue;
    if (is_group) {
      if (f.size() > 3 && !f[3].empty()) e.members = absl::StrSplit(f[3], ',');
    } else if (!absl::SimpleAtoi(f[3], &e.gid)) {
      continue;
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::optional<uint32_t> Numeric(const std::string& s) {
  uint32_t v = 0;
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  if (!absl::SimpleAtoi(s, &v)) return std::nullopt;
  return v;
}

}  // namespace

StatusOr<ResolvedUser> ResolveUser(const std::string& rootfs, const std::string& user) {
  const size_t colon = user.find(':');
  // An empty user is root.
  const std::string user_part =
      user.empty() ? std::string("0") : user.substr(0, std::min(colon, user.size()));
  std::optional<std::string> group_part;
  if (colon != std::string::npos) {
    group_part = user.substr(colon + 1);
    if (group_part->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid user \"", user, "\""));
    }
  }
  if (user_part.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid user \"", user, "\""));
  }
  ASSIGN_OR_RETURN(std::string passwd_text, ReadInRoot(rootfs, "etc/passwd"));
  ASSIGN_OR_RETURN(std::string group_text, ReadInRoot(rootfs, "etc/group"));
  const std::vector<Entry> passwd = Parse(passwd_text, false);
  const std::vector<Entry> groups = Parse(group_text, true);

  ResolvedUser out;
  std::string name;
  const std::optional<uint32_t> uid = Numeric(user_part);
  const Entry* entry = nullptr;
  for (const Entry& e : passwd) {
    if (uid.has_value() ? e.id == *uid : e.name == user_part) {
      entry = &e;
      break;
    }
  }
  if (entry != nullptr) {
    out.uid = entry->id;
    out.gid = entry->gid;
    name = entry->name;
  } else if (uid.has_value()) {
    out.uid = *uid;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to find user ", user_part, ": no matching entries in passwd file"));
  }

  if (group_part.has_value()) {
    const std::optional<uint32_t> gid = Numeric(*group_part);
    if (gid.has_value()) {
      out.gid = *gid;
    } else {
      const Entry* g = nullptr;
      for (const Entry& e : groups) {
        if (e.name == *group_part) {
          g = &e;
          break;
        }
      }
      if (g == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("unable to find group ", *group_part,
                                                       ": no matching entries in group file"));
      }
      out.gid = g->id;
    }
  }
  if (!name.empty()) {
    for (const Entry& g : groups) {
      if (g.id == out.gid) continue;
      for (const std::string& m : g.members) {
        if (m == name) {
          out.additional_gids.push_back(g.id);
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace capsule::agent
