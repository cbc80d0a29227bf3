// Natural string order (github.com/fvbommel/sortorder NaturalLess), which the docker CLI
// uses to sort `secret ls` by name: "abc2" < "abc12"; digit runs compare numerically,
// leading zeros break ties ("2" < "02"), digits sort before other bytes.
#pragma once

#include <string_view>

namespace capsule::cli {

bool NaturalLess(std::string_view a, std::string_view b);

}  // namespace capsule::cli
