// Fuzz target: the `filters` query parameter (JSON, current and legacy forms) → ParseFilters,
// then ValidateFilters and label matching as the list routes use them. Invariants: errors are
// Docker's 500 (Internal) for bad JSON or shape; values per key are sorted and unique.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "dockerapi/http/filters.h"
#include "fuzz_check.h"
#include "manager/controlapi/list_filters.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  capsule::StatusOr<capsule::http::Filters> f = capsule::http::ParseFilters(raw);
  if (!f.ok()) {
    FUZZ_CHECK(absl::IsInternal(f.status()), "unexpected code: %s", f.status().ToString().c_str());
    FUZZ_CHECK(!f.status().message().empty(), "empty error message");
    return 0;
  }
  for (const auto& [key, values] : *f) {
    FUZZ_CHECK(std::is_sorted(values.begin(), values.end()), "values of '%s' not sorted",
               key.c_str());
    FUZZ_CHECK(std::adjacent_find(values.begin(), values.end()) == values.end(),
               "values of '%s' repeat", key.c_str());
  }
  capsule::Status valid = capsule::http::ValidateFilters(*f, {"id", "label", "name", "names"});
  FUZZ_CHECK(valid.ok() || absl::IsInvalidArgument(valid), "unexpected validation code");
  const capsule::Labels labels = {{"env", "prod"}, {"a", ""}, {"", "x"}};
  const std::vector<std::string>& label_filters = capsule::http::FilterValues(*f, "label");
  const bool all = capsule::controlapi::MatchLabels(label_filters, labels);
  if (!label_filters.empty()) {
    FUZZ_CHECK(!capsule::controlapi::MatchLabels(label_filters, {}),
               "labels matched an unlabelled object");
  }
  for (const std::string& v : label_filters) {
    if (all) FUZZ_CHECK(capsule::controlapi::MatchLabels({v}, labels), "AND of labels broken");
  }
  return 0;
}
