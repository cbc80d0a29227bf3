// JsonArrayBody (declared in json_array_body.h).
#include "dockerapi/json_array_body.h"

#include <algorithm>

namespace capsule::dockerapi {

JsonArrayBody::JsonArrayBody(size_t count, AppendFn append, SizeFn size_of)
    : count_(count), append_(std::move(append)) {
  size_ = 3 + (count > 0 ? count - 1 : 0);  // "[", "]\n" and the commas
  std::string scratch;
  for (size_t i = 0; i < count; ++i) {
    if (size_of) {
      size_ += size_of(i);
    } else {
      scratch.clear();
      append_(i, &scratch);
      size_ += scratch.size();
    }
  }
}

void JsonArrayBody::Next(size_t hint, std::string* out) {
  if (done_) return;
  hint = std::max<size_t>(hint, 1);
  const size_t start = out->size();
  if (!open_) {
    out->push_back('[');
    open_ = true;
  }
  while (next_ < count_ && out->size() - start < hint) {
    if (next_ > 0) out->push_back(',');
    append_(next_++, out);
  }
  if (next_ == count_ && out->size() - start < hint) {
    out->append("]\n");
    done_ = true;
  }
}

http::Response JsonArrayResponse(size_t count, JsonArrayBody::AppendFn append) {
  http::Response r;
  r.headers.emplace_back("Content-Type", "application/json");
  r.source = std::make_shared<JsonArrayBody>(count, std::move(append));
  return r;
}

}  // namespace capsule::dockerapi
