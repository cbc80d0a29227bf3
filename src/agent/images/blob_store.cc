// BlobStore (declared in blob_store.h).
#include "agent/images/blob_store.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "agent/images/rootfs_fs.h"
#include "common/errno_status.h"

namespace capsule::agent {
namespace {

bool ValidDigest(const std::string& d) {
  return d.size() == 71 && d.compare(0, 7, "sha256:") == 0 &&
         std::all_of(d.begin() + 7, d.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status MakeDir0700(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus("mkdir", path, errno);
  return absl::OkStatus();
}

Status VerificationFailed(const std::string& digest) {
  return absl::InvalidArgumentError("filesystem layer verification failed for digest " + digest);
}

}  // namespace

BlobWriter::BlobWriter(std::string incoming_path, std::string final_path, std::string digest,
                       int64_t expected_size, UniqueFd fd)
    : incoming_path_(std::move(incoming_path)),
      final_path_(std::move(final_path)),
      digest_(std::move(digest)),
      expected_size_(expected_size),
      fd_(std::move(fd)) {}

BlobWriter::~BlobWriter() {
  if (!committed_) ::unlink(incoming_path_.c_str());
}

Status BlobWriter::Write(std::string_view data) {
  if (written_ + static_cast<int64_t>(data.size()) > expected_size_) {
    return VerificationFailed(digest_);
  }
  hash_.Update(data);
  while (!data.empty()) {
    const ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", incoming_path_, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
    written_ += n;
  }
  return absl::OkStatus();
}

Status BlobWriter::Commit() {
  if (written_ != expected_size_ || "sha256:" + hash_.HexDigest() != digest_) {
    return VerificationFailed(digest_);
  }
  if (::fsync(fd_.get()) != 0) return ErrnoStatus("fsync", incoming_path_, errno);
  if (::rename(incoming_path_.c_str(), final_path_.c_str()) != 0) {
    return ErrnoStatus("rename", incoming_path_, errno);
  }
  committed_ = true;
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<BlobStore>> BlobStore::Open(const std::string& dir) {
  RETURN_IF_ERROR(MakeDir0700(dir));
  RETURN_IF_ERROR(MakeDir0700(dir + "/sha256"));
  {
    int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus("open", dir, errno);
    UniqueFd d(fd);
    RETURN_IF_ERROR(RemoveAllAt(d.get(), "incoming"));  // partial downloads of a crashed pull
  }
  RETURN_IF_ERROR(MakeDir0700(dir + "/incoming"));
  return std::unique_ptr<BlobStore>(new BlobStore(dir));
}

bool BlobStore::Has(const std::string& digest) const {
  if (!ValidDigest(digest)) return false;
  struct stat st {};
  return ::stat(Path(digest).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string BlobStore::Path(const std::string& digest) const {
  return dir_ + "/sha256/" + digest.substr(digest.find(':') + 1);
}

StatusOr<std::unique_ptr<BlobWriter>> BlobStore::Create(const std::string& digest, int64_t size) {
  if (!ValidDigest(digest)) return absl::InvalidArgumentError("unsupported digest " + digest);
  static std::atomic<uint64_t> counter{0};
  const std::string incoming = dir_ + "/incoming/" + digest.substr(7) + "-" +
                               std::to_string(::getpid()) + "-" + std::to_string(counter++);
  int fd = ::open(incoming.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("create", incoming, errno);
  return std::make_unique<BlobWriter>(incoming, Path(digest), digest, size, UniqueFd(fd));
}

}  // namespace capsule::agent
