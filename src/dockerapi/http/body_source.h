// A response body produced piece by piece while the server writes it (large lists), so the
// whole body never sits in memory. Its size is known before the first byte is sent (it is the
// Content-Length: the response's headers are those of a buffered body of the same bytes).
//
// Contract: the server calls Size() once, then Next() until it appends nothing, each call once
// the previous piece is on the socket; the pieces together are exactly Size() bytes (a source
// that produces more or fewer is cut off and the connection closed). Next runs on the
// connection's I/O thread: it must be quick (render from data the source owns, e.g. a
// snapshot of shared_ptrs to immutable read-model entries) and must never block or take a
// lock a slow client could make someone wait on. For HEAD, and for a status without a body,
// only Size() is called. Not called concurrently; the source is destroyed on any thread once
// the body is written, the client is gone or the server stops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace capsule::http {

class BodySource {
 public:
  virtual ~BodySource() = default;
  // The body's length in bytes.
  virtual uint64_t Size() const = 0;
  // Appends the next piece, about `hint` bytes (more when one element is larger), to *out;
  // appends nothing once the body is complete.
  virtual void Next(size_t hint, std::string* out) = 0;
};

// The whole body of `source`, for tests and in-process callers.
std::string DrainBody(BodySource& source);

}  // namespace capsule::http
