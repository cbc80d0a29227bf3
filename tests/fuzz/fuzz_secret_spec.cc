// Fuzz target: the body of POST /secrets/create → ParseSecretSpec (Go-compatible decoding,
// type checks, base64 Data) → the control API's validation (name, data size). A spec that
// validates must survive the store encoding and the API rendering unchanged, and the rendered
// secret must never carry its data.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data_object_spec_fuzz.h"
#include "dockerapi/http/go_base64.h"
#include "dockerapi/http/go_json.h"
#include "dockerapi/secret_spec_json.h"
#include "fuzz_check.h"
#include "manager/controlapi/validation/validate.h"
#include "objects/objects.h"

namespace {

using capsule::Secret;
using capsule::StatusOr;
using capsule::controlapi::SecretSpec;

bool SameDriver(const std::optional<capsule::Driver>& a, const std::optional<capsule::Driver>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->name == b->name && a->options == b->options);
}

void CheckValidSpec(const SecretSpec& spec) {
  Secret s;
  s.id = "0123456789abcdefghijklmno";
  s.name = spec.name;
  s.labels = spec.labels;
  s.templating = spec.templating;
  // Store encoding round trip.
  StatusOr<Secret> back = capsule::DecodeSecretMeta(capsule::EncodeSecretMeta(s));
  FUZZ_CHECK(back.ok(), "stored meta does not decode: %s", back.status().ToString().c_str());
  FUZZ_CHECK(back->name == s.name && back->labels == s.labels, "meta round trip changed the spec");
  FUZZ_CHECK(SameDriver(back->templating, s.templating), "meta round trip changed Templating");
  // The API rendering is JSON Go can read, and has no Data.
  const std::string rendered = capsule::RenderSecret(s, 7);
  StatusOr<nlohmann::json> j = capsule::http::UnmarshalGoJson(rendered);
  FUZZ_CHECK(j.ok(), "rendered secret is not JSON: %s", j.status().ToString().c_str());
  FUZZ_CHECK(j->contains("Spec") && (*j)["Spec"].is_object(), "rendered secret has no Spec");
  FUZZ_CHECK(!(*j)["Spec"].contains("Data"), "rendered secret carries Data");
  FUZZ_CHECK((*j)["Spec"].value("Name", std::string()) == spec.name, "rendered name differs");
  // A body rendered from the parsed spec parses to the same spec.
  nlohmann::json body{{"Name", spec.name}, {"Labels", spec.labels}};
  body["Data"] = capsule::http::EncodeStdBase64(spec.data->span());
  CheckReparsed(spec, capsule::dockerapi::ParseSecretSpec(body.dump()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzDataObjectSpec(data, size, capsule::dockerapi::ParseSecretSpec,
                     capsule::controlapi::ValidateSecretData, CheckValidSpec);
  return 0;
}
