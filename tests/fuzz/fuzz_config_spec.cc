// Fuzz target: the body of POST /configs/create → ParseConfigSpec (Go-compatible decoding,
// type checks, base64 Data) → the control API's validation (name, data size). A spec that
// validates must survive the store encoding unchanged, and the API rendering must carry its
// Data exactly (configs, unlike secrets, show it) and no Driver.
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

using capsule::Config;
using capsule::StatusOr;
using capsule::controlapi::ConfigSpec;

void CheckValidSpec(const ConfigSpec& spec) {
  Config c;
  c.id = "0123456789abcdefghijklmno";
  c.name = spec.name;
  c.labels = spec.labels;
  c.templating = spec.templating;
  StatusOr<Config> back = capsule::DecodeConfigMeta(capsule::EncodeConfigMeta(c));
  FUZZ_CHECK(back.ok(), "stored meta does not decode: %s", back.status().ToString().c_str());
  FUZZ_CHECK(back->name == c.name && back->labels == c.labels, "meta round trip changed the spec");
  FUZZ_CHECK(back->templating.has_value() == c.templating.has_value(),
             "meta round trip changed Templating");
  const std::string data = capsule::http::EncodeStdBase64(spec.data->span());
  const std::string rendered = capsule::RenderConfig(c, 7, data);
  StatusOr<nlohmann::json> j = capsule::http::UnmarshalGoJson(rendered);
  FUZZ_CHECK(j.ok(), "rendered config is not JSON: %s", j.status().ToString().c_str());
  FUZZ_CHECK(j->contains("Spec") && (*j)["Spec"].is_object(), "rendered config has no Spec");
  FUZZ_CHECK((*j)["Spec"].value("Data", std::string()) == data, "rendered Data differs");
  FUZZ_CHECK(!(*j)["Spec"].contains("Driver"), "rendered config has a Driver");
  // The rendered Spec is a body that parses back to the same spec.
  CheckReparsed(spec, capsule::dockerapi::ParseConfigSpec((*j)["Spec"].dump()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzDataObjectSpec(data, size, capsule::dockerapi::ParseConfigSpec,
                     capsule::controlapi::ValidateConfigData, CheckValidSpec);
  return 0;
}
