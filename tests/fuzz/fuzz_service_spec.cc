// Fuzz target: the body of POST /services/create → ReadServiceSpec (Go-compatible decoding,
// type checks, the engine's conversion) → ValidateServiceSpec (names, constraints, secret
// references and target paths, image reference, update config). Invariants: a parsed spec
// renders to JSON that parses back to the same spec (API body and store encoding), and the
// secret references of a valid spec are accepted by the agent.
#include <cstddef>
#include <cstdint>
#include <string>

#include "dockerapi/service_schema.h"
#include "fuzz_check.h"
#include "manager/controlapi/validation/service_validate.h"
#include "objects/service.h"
#include "secret_refs_check.h"

namespace {

using capsule::Json;
using capsule::Service;
using capsule::ServiceSpec;
using capsule::StatusOr;

void CheckRoundTrips(const ServiceSpec& spec) {
  const Json rendered = capsule::ServiceSpecJson(spec);
  const std::string text = rendered.dump();  // throws (→ crash) on invalid UTF-8
  StatusOr<ServiceSpec> again = capsule::dockerapi::ReadServiceSpec(text);
  FUZZ_CHECK(again.ok(), "rendered spec does not parse: %s\n  %s",
             again.status().ToString().c_str(), text.c_str());
  FUZZ_CHECK(capsule::ServiceSpecJson(*again) == rendered, "spec changed on re-parse:\n  %s\n  %s",
             text.c_str(), capsule::ServiceSpecJson(*again).dump().c_str());

  Service s;
  s.id = "0123456789abcdefghijklmno";
  s.spec = spec;
  s.spec_version = 3;
  StatusOr<Service> back = capsule::DecodeServiceMeta(capsule::EncodeServiceMeta(s));
  FUZZ_CHECK(back.ok(), "stored service does not decode: %s", back.status().ToString().c_str());
  FUZZ_CHECK(capsule::ServiceSpecJson(back->spec) == rendered, "store round trip changed the spec");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  StatusOr<ServiceSpec> spec = capsule::dockerapi::ReadServiceSpec(body);
  if (!spec.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(spec.status()), "non-400 parse error: %s",
               spec.status().ToString().c_str());
    return 0;
  }
  CheckRoundTrips(*spec);
  if (!capsule::controlapi::ValidateServiceSpec(*spec).ok()) return 0;
  capsule::fuzz::CheckAgentAcceptsRefs(spec->task_template.container.secrets);
  return 0;
}
