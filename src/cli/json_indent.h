// Re-indents raw JSON the way Go's json.Indent(dst, src, "", "    ") does, keeping every
// token byte for byte (key order, string escapes, number spelling): what `docker inspect`
// prints. Empty objects and arrays stay "{}" / "[]".
#pragma once

#include <string>

#include "common/status.h"

namespace capsule::cli {

// InvalidArgument if `raw` is not valid JSON.
StatusOr<std::string> IndentJson(const std::string& raw, const std::string& indent = "    ");

}  // namespace capsule::cli
