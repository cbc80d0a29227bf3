// Streaming decompression of pulled layers: gzip (zlib) and zstd (libzstd), so a layer
// is unpacked without ever being held whole in memory.
#pragma once

#include <memory>

#include "agent/images/image_store.h"
#include "agent/registry/manifest.h"

namespace capsule::agent::registry {

// A ChunkSource of the decompressed bytes of `compressed` (itself a ChunkSource). A corrupt
// stream → InvalidArgument "<kind> layer: ..."; kNone passes the bytes through.
ChunkSource Decompress(ChunkSource compressed, Compression kind);

// The compression the first bytes of a blob show (gzip 1f 8b, zstd 28 b5 2f fd), else kNone.
Compression SniffCompression(std::string_view head);

}  // namespace capsule::agent::registry
