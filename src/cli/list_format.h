// `ls --format` for the CLI's lists: the subset of docker's Go templates that lists use —
// "{{.Field}}" placeholders, an optional "table " prefix (header row + aligned columns as
// docker's tabwriter), and the literal two characters "\t" meaning a tab.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::cli {

using ListRow = std::map<std::string, std::string>;  // field ("ID") → cell text

struct ListFormatSpec {
  std::string default_table;                   // e.g. "table {{.ID}}\t{{.Name}}"
  std::map<std::string, std::string> headers;  // field → header ("ID" → "ID", "Name" → "NAME")
};

// Renders rows with `format` ("" or "table" → spec.default_table). Unknown fields or template
// constructs other than {{.Field}} → InvalidArgument "template parsing error: …".
StatusOr<std::string> RenderList(const std::string& format, const ListFormatSpec& spec,
                                 const std::vector<ListRow>& rows);

}  // namespace capsule::cli
