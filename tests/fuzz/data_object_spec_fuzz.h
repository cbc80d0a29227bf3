// The entry shared by fuzz_secret_spec and fuzz_config_spec: a request body goes through the
// kind's parser; a refusal must be a 400 with a message; a spec whose name and data size
// validate must have data and goes on to the target's own checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/status.h"
#include "fuzz_check.h"
#include "manager/controlapi/validation/validate.h"

template <typename Spec>
void FuzzDataObjectSpec(const uint8_t* data, size_t size,
                        capsule::StatusOr<Spec> (*parse)(const std::string&),
                        capsule::Status (*validate_data)(size_t), void (*check)(const Spec&)) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  capsule::StatusOr<Spec> spec = parse(body);
  if (!spec.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(spec.status()), "non-400 parse error: %s",
               spec.status().ToString().c_str());
    FUZZ_CHECK(!spec.status().message().empty(), "empty error message");
    return;
  }
  if (!capsule::controlapi::ValidateName(spec->name).ok()) return;
  if (!validate_data(spec->data ? spec->data->size() : 0).ok()) return;
  FUZZ_CHECK(spec->data.has_value(), "valid spec without data");
  check(*spec);
}

// `again` (the spec parsed back from a body rendered from `spec`) must equal `spec`.
template <typename Spec>
void CheckReparsed(const Spec& spec, const capsule::StatusOr<Spec>& again) {
  FUZZ_CHECK(again.ok(), "re-rendered body fails: %s", again.status().ToString().c_str());
  FUZZ_CHECK(again->name == spec.name && again->labels == spec.labels,
             "re-rendered body parses differently");
  FUZZ_CHECK(again->data && again->data->Equals(spec.data->span()), "Data changed on re-parse");
}
