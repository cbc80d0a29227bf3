// Fuzz target: the Go-compatible JSON scanner and decoder (go_scanner, go_json).
// Invariants: the scanner never errs without a message and stops at its first error;
// UnmarshalGoJson (whole input) and DecodeGoJson (first value) agree; a decoded value
// serialises (valid UTF-8) and decodes back to itself; CheckGoTypes never throws.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dockerapi/http/go_json.h"
#include "dockerapi/http/go_scanner.h"
#include "fuzz_check.h"

namespace {

using capsule::http::internal::GoScanner;

// Numbers out of double's range decode to ±inf (Go would refuse them where a value is typed:
// CheckGoTypes does); they serialise as null, so the round trip skips such values.
bool HasNonFinite(const nlohmann::json& root) {
  std::vector<const nlohmann::json*> todo = {&root};
  while (!todo.empty()) {
    const nlohmann::json* v = todo.back();
    todo.pop_back();
    if (v->is_number_float() && !std::isfinite(v->get<double>())) return true;
    if (v->is_structured()) {
      for (const auto& e : *v) todo.push_back(&e);
    }
  }
  return false;
}

const capsule::http::GoSchema& AnySchema() {
  static const auto* schema = [] {
    using capsule::http::GoKind;
    auto inner = std::make_shared<capsule::http::GoSchema>(capsule::http::GoSchema{
        "Inner",
        "x.Inner",
        {{"N", GoKind::kInt64, nullptr, ""}, {"U", GoKind::kUint32, nullptr, ""}}});
    return new capsule::http::GoSchema{"Outer",
                                       "x.Outer",
                                       {{"Name", GoKind::kString, nullptr, ""},
                                        {"Labels", GoKind::kStringMap, nullptr, ""},
                                        {"Data", GoKind::kBytes, nullptr, ""},
                                        {"On", GoKind::kBool, nullptr, ""},
                                        {"F", GoKind::kFloat64, nullptr, ""},
                                        {"List", GoKind::kStringSlice, nullptr, ""},
                                        {"In", GoKind::kStruct, inner, ""},
                                        {"Ins", GoKind::kStructSlice, inner, ""}}};
  }();
  return *schema;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);

  GoScanner scanner;
  for (size_t i = 0; i < size; ++i) {
    GoScanner::Op op = scanner.Step(data[i]);
    if (op == GoScanner::kError) {
      FUZZ_CHECK(scanner.has_error(), "kError without a message at byte %zu", i);
      break;
    }
    // As Go's stateEndTop: a byte after the top-level value records the error but returns
    // kEnd (the complaint comes on the next call).
    if (op == GoScanner::kEnd) break;
    FUZZ_CHECK(!scanner.has_error(), "message without kError at byte %zu", i);
  }
  if (!scanner.has_error() && !scanner.end_top()) {
    GoScanner::Op op = scanner.Eof();
    FUZZ_CHECK((op == GoScanner::kError) == scanner.has_error(), "Eof result and error disagree");
  }

  capsule::StatusOr<nlohmann::json> whole = capsule::http::UnmarshalGoJson(in);
  capsule::StatusOr<nlohmann::json> first = capsule::http::DecodeGoJson(in);
  if (!whole.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(whole.status()), "unexpected code");
    FUZZ_CHECK(!whole.status().message().empty(), "empty error message");
  }
  if (!first.ok()) FUZZ_CHECK(absl::IsInvalidArgument(first.status()), "unexpected code");
  if (whole.ok() && !HasNonFinite(*whole)) {
    FUZZ_CHECK(first.ok(), "Unmarshal accepts what Decode refuses: %s",
               first.status().ToString().c_str());
    FUZZ_CHECK(*first == *whole, "Unmarshal and Decode differ");
    const std::string text = whole->dump();  // throws (→ crash) on invalid UTF-8
    capsule::StatusOr<nlohmann::json> again = capsule::http::UnmarshalGoJson(text);
    FUZZ_CHECK(again.ok(), "re-serialised value fails: %s\n  %s", again.status().ToString().c_str(),
               text.c_str());
    FUZZ_CHECK(*again == *whole, "value changed on round trip: %s", text.c_str());
  }
  if (first.ok()) {
    capsule::Status types = capsule::http::CheckGoTypes(*first, AnySchema());
    FUZZ_CHECK(types.ok() || absl::IsInvalidArgument(types), "unexpected type-check code");
  }
  return 0;
}
