// Fuzz target: secret references and target paths on their own, without JSON around them.
// Input: one reference per line, fields separated by '|': name|target|uid|gid (a missing
// target means no File). ValidateSecretReferences (the manager) must agree with
// SecretDestinations (the agent) — see secret_refs_check.h.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "manager/controlapi/validation/service_validate.h"
#include "secret_refs_check.h"

namespace {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? p : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<capsule::SecretReference> refs;
  for (const std::string& line : Split(in, '\n')) {
    if (refs.size() >= 64) break;
    const std::vector<std::string> f = Split(line, '|');
    capsule::SecretReference r;
    r.secret_name = f[0];
    r.secret_id = f[0].empty() ? "" : "id" + std::to_string(refs.size());
    r.has_file = f.size() > 1;
    if (f.size() > 1) r.target = f[1];
    if (f.size() > 2) r.uid = f[2];
    if (f.size() > 3) r.gid = f[3];
    refs.push_back(std::move(r));
  }
  capsule::Status st = capsule::controlapi::ValidateSecretReferences(refs);
  if (!st.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(st), "unexpected code: %s", st.ToString().c_str());
    return 0;
  }
  capsule::fuzz::CheckAgentAcceptsRefs(refs);
  return 0;
}
