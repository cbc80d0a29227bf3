// The body of a list response, "[e0,e1,...]\n" (JsonResponse's bytes for the same JSON
// array), as an http::BodySource: elements are rendered while the server writes them, so a
// list of 10,000 secrets never exists as one string. The elements come from a snapshot the
// body owns (shared_ptrs to immutable read-model entries and anything else computed when
// the request was handled), so writing needs no lock and sees one consistent list.
//
// Thread-safety: built on a handler's thread, then used by one thread at a time (the server).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dockerapi/http/server.h"

namespace capsule::dockerapi {

class JsonArrayBody : public http::BodySource {
 public:
  // Appends element `i`'s JSON to *out. It must append the same bytes every time it is called
  // for the same i (it is called twice per element when no size function is given).
  using AppendFn = std::function<void(size_t i, std::string* out)>;
  // The length of element `i`'s JSON, when it is known without rendering it.
  using SizeFn = std::function<size_t(size_t i)>;

  // `count` elements; the body's size is summed with `size_of`, or else by rendering every
  // element once into a scratch string (never more than one element at a time in memory).
  JsonArrayBody(size_t count, AppendFn append, SizeFn size_of = nullptr);

  uint64_t Size() const override { return size_; }
  void Next(size_t hint, std::string* out) override;

 private:
  size_t count_;
  AppendFn append_;
  uint64_t size_ = 0;
  size_t next_ = 0;    // the next element to render
  bool open_ = false;  // "[" written
  bool done_ = false;  // "]\n" written
};

// 200, application/json, the JSON array of entries whose JSON the read model rendered already
// (`entry->json`): the same bytes as JsonResponse(200, JsonArrayOf(entries)), streamed.
template <typename Entry>
http::Response JsonArrayResponse(std::vector<Entry> entries) {
  auto snapshot = std::make_shared<const std::vector<Entry>>(std::move(entries));
  http::Response r;
  r.headers.emplace_back("Content-Type", "application/json");
  r.source = std::make_shared<JsonArrayBody>(
      snapshot->size(),
      [snapshot](size_t i, std::string* out) { out->append((*snapshot)[i]->json); },
      [snapshot](size_t i) { return (*snapshot)[i]->json.size(); });
  return r;
}

// The same for elements rendered by `append` (see JsonArrayBody).
http::Response JsonArrayResponse(size_t count, JsonArrayBody::AppendFn append);

}  // namespace capsule::dockerapi
