// A streaming reader of tar archives (POSIX ustar, GNU long names/links, PAX extended
// headers) over a ChunkSource, so an upload is parsed as it arrives and never held in memory.
// Header sizes are bounded: a PAX record set or GNU long name larger than kMaxMetaSize is an
// error. Not thread-safe (one reader per stream).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agent/images/image_store.h"
#include "common/status.h"

namespace capsule::agent {

enum class TarType { kFile, kDir, kSymlink, kHardlink, kCharDev, kBlockDev, kFifo, kOther };

struct TarEntry {
  std::string path;      // as in the archive (not normalised)
  std::string linkname;  // symlink target or hardlink target
  TarType type = TarType::kFile;
  uint32_t mode = 0;  // permission bits incl. setuid/setgid/sticky
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t size = 0;  // bytes of data that follow (regular files)
  int64_t mtime = 0;
};

// Reads bytes from a ChunkSource in exact amounts.
class ChunkReader {
 public:
  explicit ChunkReader(ChunkSource source) : source_(std::move(source)) {}
  // Reads exactly n bytes into out; OutOfRange "unexpected end of archive" at a short read.
  Status ReadExact(char* out, size_t n);
  // Hands up to n bytes at a time to fn (zero-copy from the source's chunks).
  Status ReadInPieces(int64_t n, const std::function<Status(std::string_view)>& fn);
  // Reads and drops everything left (so an HTTP body is consumed before an error answer).
  Status Drain();

 private:
  Status Fill();  // ensures pending_ is non-empty, or eof_
  ChunkSource source_;
  std::string_view pending_;
  bool eof_ = false;
};

class TarReader {
 public:
  static constexpr size_t kMaxMetaSize = 1 << 20;

  explicit TarReader(ChunkReader& in) : in_(in) {}
  // Next entry's header, or false at the end of the archive (two zero blocks, or a clean
  // end of stream at a block boundary). The previous entry's unread data is skipped.
  StatusOr<bool> Next(TarEntry* entry);
  // The current entry's data, in pieces; at most once per entry.
  Status ReadData(const std::function<Status(std::string_view)>& fn);

 private:
  Status SkipRemaining();
  Status ReadMeta(int64_t size, std::string* out);
  int64_t remaining_ = 0;  // data bytes of the current entry not yet read
  int64_t padding_ = 0;    // zero padding after them
  ChunkReader& in_;
};

}  // namespace capsule::agent
