// DrainBody (declared in body_source.h).
#include "dockerapi/http/body_source.h"

namespace capsule::http {

std::string DrainBody(BodySource& source) {
  std::string out;
  out.reserve(source.Size());
  for (;;) {
    const size_t before = out.size();
    source.Next(64 * 1024, &out);
    if (out.size() == before) return out;
  }
}

}  // namespace capsule::http
