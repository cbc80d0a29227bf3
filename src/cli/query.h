// Query strings as the docker CLI writes them (Go's url.Values.Encode): keys sorted,
// values escaped with url.QueryEscape (space → '+', [A-Za-z0-9-_.~] kept, rest %XX).
// Also the `--filter k=v` flag and its JSON form {"k":{"v":true}}.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace capsule::cli {

using QueryParams = std::map<std::string, std::string>;

std::string QueryEscape(const std::string& s);
std::string EncodeQuery(const QueryParams& params);  // "" when empty, else "a=1&b=2"

// name → set of values; the docker CLI's filters.Args.
using FilterArgs = std::map<std::string, std::vector<std::string>>;

// Parses one `--filter` value: "name=value" (key trimmed and lower-cased, value trimmed).
// No '=' → InvalidArgument "bad format of filter (expected name=value)".
Status AddFilterFlag(const std::string& flag, FilterArgs* args);

// {"label":{"a=b":true},"name":{"x":true}} with keys sorted; "" when args is empty (docker
// then sends no filters parameter at all).
std::string FiltersToJson(const FilterArgs& args);

}  // namespace capsule::cli
