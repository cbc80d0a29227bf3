// Content-addressed blobs of pulled images (layers as the registry serves them, compressed),
// under <images_dir>/blobs: a blob is stored once whatever the number of images using it, and
// only after its bytes were verified against its digest. A download in progress lives in
// blobs/incoming/ and is discarded when it fails or when the store opens after a crash, so a
// blob in blobs/sha256/ is always whole. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/images/sha256.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace capsule::agent {

// One blob being written. Not thread-safe; destroyed uncommitted, it removes its file.
class BlobWriter {
 public:
  BlobWriter(std::string incoming_path, std::string final_path, std::string digest,
             int64_t expected_size, UniqueFd fd);
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  // Appends bytes; InvalidArgument "filesystem layer verification failed for digest <d>" as
  // soon as more than the expected size arrives.
  Status Write(std::string_view data);
  // Checks size and sha256 (the same InvalidArgument when either differs), syncs and moves
  // the blob into place.
  Status Commit();
  int64_t written() const { return written_; }

 private:
  std::string incoming_path_, final_path_, digest_;
  int64_t expected_size_;
  UniqueFd fd_;
  Sha256 hash_;
  int64_t written_ = 0;
  bool committed_ = false;
};

class BlobStore {
 public:
  // Creates dir (0700) with sha256/ and an empty incoming/ (leftovers removed).
  static StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& dir);
  // True when a verified blob with this digest ("sha256:<hex>") is stored.
  bool Has(const std::string& digest) const;
  // Its path (whether or not it exists).
  std::string Path(const std::string& digest) const;
  // A writer for a blob of `size` bytes; InvalidArgument for a digest that is not sha256.
  StatusOr<std::unique_ptr<BlobWriter>> Create(const std::string& digest, int64_t size);

 private:
  explicit BlobStore(std::string dir) : dir_(std::move(dir)) {}
  const std::string dir_;
};

}  // namespace capsule::agent
