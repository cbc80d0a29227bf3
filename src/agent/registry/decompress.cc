// Decompress (declared in decompress.h).
#include "agent/registry/decompress.h"

#include <zlib.h>
#include <zstd.h>

#include <string>

namespace capsule::agent::registry {
namespace {

constexpr size_t kOutChunk = 128 << 10;

class GzipSource {
 public:
  explicit GzipSource(ChunkSource in) : in_(std::move(in)) {
    zs_.zalloc = Z_NULL;
    zs_.zfree = Z_NULL;
    zs_.opaque = Z_NULL;
    ok_ = ::inflateInit2(&zs_, 15 + 32) == Z_OK;  // gzip or zlib header
    out_.resize(kOutChunk);
  }
  ~GzipSource() { ::inflateEnd(&zs_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  StatusOr<std::string_view> Next() {
    if (!ok_) return absl::InternalError("gzip layer: inflateInit failed");
    for (;;) {
      if (done_) return std::string_view();
      if (zs_.avail_in == 0 && !eof_) {
        ASSIGN_OR_RETURN(std::string_view piece, in_());
        if (piece.empty()) {
          eof_ = true;
        } else {
          in_buf_.assign(piece);
          zs_.next_in = reinterpret_cast<Bytef*>(in_buf_.data());
          zs_.avail_in = static_cast<uInt>(in_buf_.size());
        }
      }
      zs_.next_out = reinterpret_cast<Bytef*>(out_.data());
      zs_.avail_out = static_cast<uInt>(out_.size());
      const int rc = ::inflate(&zs_, Z_NO_FLUSH);
      const size_t produced = out_.size() - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members (pigz): start the next one if input remains.
        if (zs_.avail_in > 0) {
          ::inflateReset(&zs_);
        } else {
          done_ = true;
        }
      } else if (rc == Z_BUF_ERROR && eof_ && zs_.avail_in == 0) {
        return absl::InvalidArgumentError("gzip layer: unexpected EOF");
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return absl::InvalidArgumentError(std::string("gzip layer: ") +
                                          (zs_.msg != nullptr ? zs_.msg : "corrupt data"));
      }
      if (produced > 0) return std::string_view(out_.data(), produced);
      if (eof_ && zs_.avail_in == 0 && !done_) {
        return absl::InvalidArgumentError("gzip layer: unexpected EOF");
      }
    }
  }

 private:
  ChunkSource in_;
  z_stream zs_{};
  bool ok_ = false;
  bool eof_ = false;
  bool done_ = false;
  std::string in_buf_;
  std::string out_;
};

class ZstdSource {
 public:
  explicit ZstdSource(ChunkSource in) : in_(std::move(in)), ds_(ZSTD_createDStream()) {
    ZSTD_initDStream(ds_);
    out_.resize(ZSTD_DStreamOutSize());
  }
  ~ZstdSource() { ZSTD_freeDStream(ds_); }
  ZstdSource(const ZstdSource&) = delete;
  ZstdSource& operator=(const ZstdSource&) = delete;

  StatusOr<std::string_view> Next() {
    for (;;) {
      if (input_.pos == input_.size && !eof_ && !flush_pending_) {
        ASSIGN_OR_RETURN(std::string_view piece, in_());
        if (piece.empty()) {
          eof_ = true;
        } else {
          in_buf_.assign(piece);
          input_ = {in_buf_.data(), in_buf_.size(), 0};
        }
      }
      if (eof_ && input_.pos == input_.size && !flush_pending_) {
        if (last_hint_ != 0) return absl::InvalidArgumentError("zstd layer: unexpected EOF");
        return std::string_view();
      }
      ZSTD_outBuffer output{out_.data(), out_.size(), 0};
      const size_t hint = ZSTD_decompressStream(ds_, &output, &input_);
      if (ZSTD_isError(hint)) {
        return absl::InvalidArgumentError(std::string("zstd layer: ") + ZSTD_getErrorName(hint));
      }
      last_hint_ = hint;
      flush_pending_ = output.pos == output.size;  // the decoder may hold more output
      if (output.pos > 0) return std::string_view(out_.data(), output.pos);
    }
  }

 private:
  ChunkSource in_;
  ZSTD_DStream* ds_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  size_t last_hint_ = 0;
  bool flush_pending_ = false;
  bool eof_ = false;
  std::string in_buf_;
  std::string out_;
};

}  // namespace

Compression SniffCompression(std::string_view head) {
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
      static_cast<unsigned char>(head[1]) == 0x8b) {
    return Compression::kGzip;
  }
  if (head.size() >= 4 && static_cast<unsigned char>(head[0]) == 0x28 &&
      static_cast<unsigned char>(head[1]) == 0xb5 && static_cast<unsigned char>(head[2]) == 0x2f &&
      static_cast<unsigned char>(head[3]) == 0xfd) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

ChunkSource Decompress(ChunkSource compressed, Compression kind) {
  switch (kind) {
    case Compression::kGzip: {
      auto src = std::make_shared<GzipSource>(std::move(compressed));
      return [src]() { return src->Next(); };
    }
    case Compression::kZstd: {
      auto src = std::make_shared<ZstdSource>(std::move(compressed));
      return [src]() { return src->Next(); };
    }
    case Compression::kNone:
      break;
  }
  return compressed;
}

}  // namespace capsule::agent::registry
