// TarReader and ChunkReader (declared in tar_reader.h).
#include "agent/images/tar_reader.h"

#include <algorithm>
#include <cstring>

namespace capsule::agent {
namespace {

constexpr size_t kBlock = 512;

Status Truncated() { return absl::OutOfRangeError("unexpected end of archive"); }
Status Corrupt(const std::string& what) {
  return absl::InvalidArgumentError("invalid tar archive: " + what);
}

// A NUL-terminated (or full-width) string field.
std::string Field(const char* p, size_t n) { return std::string(p, strnlen(p, n)); }

// A GNU long name or link: NUL-terminated and padded with NULs. Anything but NULs after the
// first NUL means the name reads differently to different readers: refused.
StatusOr<std::string> LongName(const std::string& meta, const char* what) {
  const std::string name = Field(meta.data(), meta.size());
  if (!std::all_of(meta.begin() + static_cast<std::ptrdiff_t>(name.size()), meta.end(),
                   [](char c) { return c == '\0'; })) {
    return Corrupt(std::string("NUL byte inside a GNU long ") + what);
  }
  return name;
}

// Octal (space/NUL padded) or GNU base-256 numbers.
StatusOr<int64_t> Number(const char* p, size_t n) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  if (n > 0 && (u[0] & 0x80) != 0) {
    if ((u[0] & 0x40) != 0) return Corrupt("negative number");
    uint64_t v = u[0] & 0x3f;
    for (size_t i = 1; i < n; ++i) {
      if (v >> 55 != 0) return Corrupt("number too large");
      v = (v << 8) | u[i];
    }
    return static_cast<int64_t>(v);
  }
  size_t i = 0;
  while (i < n && (p[i] == ' ' || p[i] == '\0')) ++i;
  uint64_t v = 0;
  for (; i < n && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (v >> 60 != 0) return Corrupt("number too large");
    v = v * 8 + static_cast<uint64_t>(p[i] - '0');
  }
  for (; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return Corrupt("bad numeric field");
  }
  return static_cast<int64_t>(v);
}

bool AllZero(const char* p, size_t n) {
  return std::all_of(p, p + n, [](char c) { return c == '\0'; });
}

Status VerifyChecksum(const char* h) {
  ASSIGN_OR_RETURN(int64_t want, Number(h + 148, 8));
  int64_t unsigned_sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= 148 && i < 156;
    unsigned_sum += in_field ? ' ' : static_cast<unsigned char>(h[i]);
    signed_sum += in_field ? ' ' : static_cast<signed char>(h[i]);
  }
  if (want != unsigned_sum && want != signed_sum) return Corrupt("header checksum mismatch");
  return absl::OkStatus();
}

TarType TypeOf(char flag) {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return TarType::kFile;
    case '1':
      return TarType::kHardlink;
    case '2':
      return TarType::kSymlink;
    case '3':
      return TarType::kCharDev;
    case '4':
      return TarType::kBlockDev;
    case '5':
      return TarType::kDir;
    case '6':
      return TarType::kFifo;
    default:
      return TarType::kOther;
  }
}

// PAX records: "<len> <key>=<value>\n" repeated.
Status ApplyPax(const std::string& records, TarEntry* e, bool* has_size) {
  size_t pos = 0;
  while (pos < records.size()) {
    if (records[pos] == '\0') break;  // some writers pad with NULs
    size_t sp = records.find(' ', pos);
    if (sp == std::string::npos || sp == pos || sp - pos > 20) return Corrupt("bad PAX record");
    uint64_t len = 0;
    for (size_t i = pos; i < sp; ++i) {
      if (records[i] < '0' || records[i] > '9') return Corrupt("bad PAX record length");
      len = len * 10 + static_cast<uint64_t>(records[i] - '0');
    }
    if (len <= sp - pos + 1 || len > records.size() - pos || records[pos + len - 1] != '\n') {
      return Corrupt("bad PAX record length");
    }
    const std::string kv = records.substr(sp + 1, pos + len - 1 - (sp + 1));
    pos += len;
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) return Corrupt("bad PAX record");
    const std::string key = kv.substr(0, eq);
    const std::string value = kv.substr(eq + 1);
    // As Go's archive/tar (Docker): a NUL in a key, or in a name, is an invalid header — a
    // C string of it would name another file than the archive does.
    const bool is_name = key == "path" || key == "linkpath" || key == "uname" || key == "gname";
    if (key.empty() || key.find('\0') != std::string::npos ||
        (is_name && value.find('\0') != std::string::npos)) {
      return Corrupt("NUL byte in PAX record " + key.substr(0, key.find('\0')));
    }
    auto decimal = [&](int64_t* out) -> Status {
      const std::string whole = value.substr(0, value.find('.'));
      if (whole.empty() || whole.size() > 18 ||
          !std::all_of(whole.begin(), whole.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Corrupt("bad PAX " + key);
      }
      *out = std::stoll(whole);
      return absl::OkStatus();
    };
    int64_t n = 0;
    if (key == "path") {
      e->path = value;
    } else if (key == "linkpath") {
      e->linkname = value;
    } else if (key == "size") {
      RETURN_IF_ERROR(decimal(&e->size));
      *has_size = true;
    } else if (key == "uid") {
      RETURN_IF_ERROR(decimal(&n));
      e->uid = static_cast<uint32_t>(n);
    } else if (key == "gid") {
      RETURN_IF_ERROR(decimal(&n));
      e->gid = static_cast<uint32_t>(n);
    } else if (key == "mtime") {
      RETURN_IF_ERROR(decimal(&e->mtime));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Status ChunkReader::Fill() {
  while (pending_.empty() && !eof_) {
    ASSIGN_OR_RETURN(std::string_view chunk, source_());
    if (chunk.empty()) {
      eof_ = true;
    } else {
      pending_ = chunk;
    }
  }
  return absl::OkStatus();
}

Status ChunkReader::ReadExact(char* out, size_t n) {
  while (n > 0) {
    RETURN_IF_ERROR(Fill());
    if (eof_) return Truncated();
    const size_t take = std::min(n, pending_.size());
    std::memcpy(out, pending_.data(), take);
    pending_.remove_prefix(take);
    out += take;
    n -= take;
  }
  return absl::OkStatus();
}

Status ChunkReader::ReadInPieces(int64_t n, const std::function<Status(std::string_view)>& fn) {
  while (n > 0) {
    RETURN_IF_ERROR(Fill());
    if (eof_) return Truncated();
    const size_t take = static_cast<size_t>(std::min<int64_t>(n, pending_.size()));
    RETURN_IF_ERROR(fn(pending_.substr(0, take)));
    pending_.remove_prefix(take);
    n -= static_cast<int64_t>(take);
  }
  return absl::OkStatus();
}

Status ChunkReader::Drain() {
  for (;;) {
    RETURN_IF_ERROR(Fill());
    if (eof_) return absl::OkStatus();
    pending_ = {};
  }
}

Status TarReader::SkipRemaining() {
  const int64_t n = remaining_ + padding_;
  remaining_ = padding_ = 0;
  return in_.ReadInPieces(n, [](std::string_view) { return absl::OkStatus(); });
}

Status TarReader::ReadMeta(int64_t size, std::string* out) {
  if (size < 0 || static_cast<uint64_t>(size) > kMaxMetaSize) {
    return Corrupt("extended header too large (" + std::to_string(size) + " bytes)");
  }
  out->resize(static_cast<size_t>(size));
  RETURN_IF_ERROR(in_.ReadExact(out->data(), out->size()));
  const int64_t pad = (kBlock - size % kBlock) % kBlock;
  return in_.ReadInPieces(pad, [](std::string_view) { return absl::OkStatus(); });
}

StatusOr<bool> TarReader::Next(TarEntry* entry) {
  RETURN_IF_ERROR(SkipRemaining());
  TarEntry e;
  std::string long_name, long_link, pax;
  bool have_long_name = false, have_long_link = false, have_pax = false;
  char h[kBlock];
  for (;;) {
    // The archive must end with its zero block: an end of stream anywhere before it (even
    // at a block boundary) is a truncated upload, never a complete image.
    RETURN_IF_ERROR(in_.ReadExact(h, kBlock));
    if (AllZero(h, kBlock)) {
      if (have_long_name || have_long_link || have_pax) return Corrupt("header missing");
      return false;
    }
    RETURN_IF_ERROR(VerifyChecksum(h));
    ASSIGN_OR_RETURN(int64_t size, Number(h + 124, 12));
    const char flag = h[156];
    if (flag == 'L' || flag == 'K' || flag == 'x' || flag == 'g') {
      std::string meta;
      RETURN_IF_ERROR(ReadMeta(size, &meta));
      if (flag == 'L') {
        ASSIGN_OR_RETURN(long_name, LongName(meta, "name"));
        have_long_name = true;
      } else if (flag == 'K') {
        ASSIGN_OR_RETURN(long_link, LongName(meta, "link name"));
        have_long_link = true;
      } else if (flag == 'x') {
        if (pax.size() + meta.size() > kMaxMetaSize) return Corrupt("extended header too large");
        pax += meta;
        have_pax = true;
      }  // 'g' (global) records carry nothing we use
      continue;
    }
    e.path = Field(h, 100);
    if (std::memcmp(h + 257, "ustar\0", 6) == 0) {
      const std::string prefix = Field(h + 345, 155);
      if (!prefix.empty()) e.path = prefix + "/" + e.path;
    }
    e.linkname = Field(h + 157, 100);
    e.type = TypeOf(flag);
    ASSIGN_OR_RETURN(int64_t mode, Number(h + 100, 8));
    ASSIGN_OR_RETURN(int64_t uid, Number(h + 108, 8));
    ASSIGN_OR_RETURN(int64_t gid, Number(h + 116, 8));
    ASSIGN_OR_RETURN(e.mtime, Number(h + 136, 12));
    e.mode = static_cast<uint32_t>(mode) & 07777;
    e.uid = static_cast<uint32_t>(uid);
    e.gid = static_cast<uint32_t>(gid);
    e.size = size;
    if (have_long_name) e.path = long_name;
    if (have_long_link) e.linkname = long_link;
    bool pax_size = false;
    if (have_pax) RETURN_IF_ERROR(ApplyPax(pax, &e, &pax_size));
    if (e.size < 0) return Corrupt("negative size");
    // Links, directories and devices carry no data even if a size is written.
    if (e.type != TarType::kFile && e.type != TarType::kOther) e.size = 0;
    if (flag == '5' && !e.path.empty() && e.path.back() != '/') e.path += '/';
    if (flag == '\0' && !e.path.empty() && e.path.back() == '/') e.type = TarType::kDir;
    remaining_ = e.size;
    padding_ = (kBlock - e.size % kBlock) % kBlock;
    *entry = std::move(e);
    return true;
  }
}

Status TarReader::ReadData(const std::function<Status(std::string_view)>& fn) {
  const int64_t n = remaining_;
  remaining_ = 0;
  RETURN_IF_ERROR(in_.ReadInPieces(n, fn));
  const int64_t pad = padding_;
  padding_ = 0;
  return in_.ReadInPieces(pad, [](std::string_view) { return absl::OkStatus(); });
}

}  // namespace capsule::agent
