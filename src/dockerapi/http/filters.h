// Docker's `filters` query parameter (moby api/types/filters): JSON in the current form
// {"name":["a","b"]} or the legacy form {"name":{"a":true}}. Values per key are a set.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::http {

// key → sorted, de-duplicated values. A key given with null / no values is present with an
// empty list (Docker still validates it). Matching objects against the values is the control
// API's job (manager/controlapi/list_filters.h): the routes hand them over.
using Filters = std::map<std::string, std::vector<std::string>>;

// filters.FromJSON: "" → no filters. Invalid JSON or a shape that fits neither form →
// Internal (Docker answers 500) with exactly Go's json.Unmarshal message, e.g.
// "invalid character 'o' in literal null (expecting 'u')" for "notjson".
StatusOr<Filters> ParseFilters(const std::string& raw);

// Args.Validate: every key must be in `allowed`; else InvalidArgument "Invalid filter '<key>'"
// (the first bad key in sorted order).
Status ValidateFilters(const Filters& filters, const std::vector<std::string>& allowed);

// The values of `key` (empty if absent).
const std::vector<std::string>& FilterValues(const Filters& filters, const std::string& key);

}  // namespace capsule::http
