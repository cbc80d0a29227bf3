// Fuzz target: the template engine (src/template) with swarm's payload context, as the agent
// runs a templated secret. Input: the template text.
// Invariants: no crash and no sanitizer report; every error is InvalidArgument (Go's message,
// "template: expansion…") or ResourceExhausted (a limit); output stays within the limit; and
// least privilege holds: the data of a secret the task does not reference (it sits in the
// lookup, as on a node where another task needs it) never appears in the output or an error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "template/swarm_context.h"

namespace {

constexpr std::string_view kHidden = "HIDDEN-9f3c1e-not-referenced";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  capsule::tmpl::SwarmTask task;
  task.service_id = "svc";
  task.service_name = "web";
  task.service_labels = {{"a", "1"}, {"b", "2"}};
  task.node_id = "node";
  task.task_id = "task";
  task.slot = 1;
  task.task_name = "web.1.task";
  task.env = {"X=ex", "Y="};
  task.secrets = {{"sid-pw", "pw"}};
  capsule::tmpl::DependencyLookup secrets =
      [](const std::string& id) -> absl::StatusOr<capsule::tmpl::Str> {
    if (id == "sid-pw") return capsule::tmpl::Str("s3cret");
    if (id == "sid-hidden") return capsule::tmpl::Str(kHidden);
    return absl::NotFoundError("secret not found");
  };
  capsule::tmpl::Limits limits;
  limits.max_output_bytes = 1 << 16;
  limits.max_produced_bytes = 1 << 20;
  limits.max_steps = 20000;
  absl::StatusOr<capsule::tmpl::Str> out =
      capsule::tmpl::ExpandPayload(task, in, secrets, {}, nullptr, limits);
  if (!out.ok()) {
    const std::string msg(out.status().message());
    FUZZ_CHECK(absl::IsInvalidArgument(out.status()) || absl::IsResourceExhausted(out.status()),
               "unexpected code: %s", msg.c_str());
    FUZZ_CHECK(msg.rfind("template: expansion", 0) == 0, "not a template error: %s", msg.c_str());
    FUZZ_CHECK(msg.find(kHidden) == std::string::npos || in.find(kHidden) != std::string::npos,
               "an unreferenced secret leaked into an error");
    return 0;
  }
  FUZZ_CHECK(out->size() <= limits.max_output_bytes, "output of %zu bytes", out->size());
  FUZZ_CHECK(std::string_view(*out).find(kHidden) == std::string_view::npos ||
                 in.find(kHidden) != std::string_view::npos,
             "an unreferenced secret leaked into the output");
  return 0;
}
