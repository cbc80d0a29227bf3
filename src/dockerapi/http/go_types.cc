// Go struct-shape checking for decoded JSON (declared in go_json.h).
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "dockerapi/http/go_base64.h"
#include "dockerapi/http/go_json.h"

namespace capsule::http {
namespace {

using nlohmann::json;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

const GoFieldSpec* FindField(const GoSchema& schema, std::string_view key) {
  for (const auto& f : schema.fields) {
    if (f.name == key) return &f;
  }
  for (const auto& f : schema.fields) {
    if (EqualFold(f.name, key)) return &f;
  }
  return nullptr;
}

std::string GoTypeOf(const GoFieldSpec& f) {
  if (!f.go_type.empty()) return f.go_type;
  switch (f.kind) {
    case GoKind::kString:
      return "string";
    case GoKind::kBool:
      return "bool";
    case GoKind::kInt:
      return "int";
    case GoKind::kInt64:
      return "int64";
    case GoKind::kUint32:
      return "uint32";
    case GoKind::kUint64:
      return "uint64";
    case GoKind::kFloat64:
      return "float64";
    case GoKind::kBytes:
      return "[]uint8";
    case GoKind::kStringMap:
      return "map[string]string";
    case GoKind::kStringSlice:
      return "[]string";
    case GoKind::kStruct:
      return f.schema ? f.schema->go_type : "struct";
    case GoKind::kStructSlice:
      return "[]" + (f.schema ? f.schema->go_type : std::string("struct"));
    case GoKind::kAny:
      return "interface {}";
  }
  return "interface {}";
}

// The literal Go would print after "number " (we no longer have the source text, so
// non-integers print in shortest round-trip form: "1.5", "1e+21").
std::string NumberText(const json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return std::to_string(v.get<int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<uint64_t>());
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v.get<double>());
  return std::string(buf, res.ptr);
}

// Whether number v is an integer literal within [lo, hi].
bool FitsInt(const json& v, int64_t lo, uint64_t hi) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= hi;
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return i >= lo && (i < 0 || static_cast<uint64_t>(i) <= hi);
  }
  return false;
}

class Checker {
 public:
  Status Struct(const json& obj, const GoSchema& schema) {
    for (const auto& [key, val] : obj.items()) {
      const GoFieldSpec* f = FindField(schema, key);
      if (f == nullptr) continue;  // unknown fields are ignored
      path_.push_back(f->name);
      Status s = Field(val, *f, schema);
      path_.pop_back();
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

 private:
  Status Fail(const std::string& what, const GoSchema& owner, const std::string& go_type) {
    std::string path = owner.name;
    for (const auto& p : path_) path += "." + p;
    return absl::InvalidArgumentError(GoJsonTypeError(what, path, go_type));
  }

  // A scalar/element of Go type `go_type` (kind k) given JSON value v.
  Status Scalar(const json& v, GoKind k, const GoSchema& owner, const std::string& go_type) {
    if (v.is_null() || k == GoKind::kAny) return absl::OkStatus();
    auto fail = [&](const std::string& what) { return Fail(what, owner, go_type); };
    switch (k) {
      case GoKind::kString:
        return v.is_string() ? absl::OkStatus() : fail(GoJsonTypeName(v));
      case GoKind::kBool:
        return v.is_boolean() ? absl::OkStatus() : fail(GoJsonTypeName(v));
      case GoKind::kFloat64: {
        if (!v.is_number()) return fail(GoJsonTypeName(v));
        // Go's ParseFloat refuses a number out of the field's range (1e400; 1e39 for a
        // float32) where the decoder made it ±inf. (Found by tests/fuzz: such a value was
        // accepted and became 0.) Deviation: Go prints the literal, we print "inf".
        const double max = go_type == "float32" ? std::numeric_limits<float>::max()
                                                : std::numeric_limits<double>::max();
        const double d = v.get<double>();
        return (d >= -max && d <= max) ? absl::OkStatus() : fail("number " + NumberText(v));
      }
      case GoKind::kInt:
      case GoKind::kInt64:
      case GoKind::kUint32:
      case GoKind::kUint64: {
        if (!v.is_number()) return fail(GoJsonTypeName(v));
        int64_t lo = 0;
        uint64_t hi = std::numeric_limits<uint64_t>::max();
        if (k == GoKind::kInt || k == GoKind::kInt64) {
          lo = std::numeric_limits<int64_t>::min();
          hi = std::numeric_limits<int64_t>::max();
        } else if (k == GoKind::kUint32) {
          hi = std::numeric_limits<uint32_t>::max();
        }
        return FitsInt(v, lo, hi) ? absl::OkStatus() : fail("number " + NumberText(v));
      }
      default:
        return fail(GoJsonTypeName(v));
    }
  }

  Status Field(const json& v, const GoFieldSpec& f, const GoSchema& owner) {
    if (v.is_null()) return absl::OkStatus();
    const std::string go_type = GoTypeOf(f);
    switch (f.kind) {
      case GoKind::kBytes:
        if (v.is_string()) {
          auto decoded = DecodeStdBase64(v.get_ref<const std::string&>());
          return decoded.ok() ? absl::OkStatus() : decoded.status();
        }
        if (v.is_array()) {  // Go also accepts []byte as an array of numbers
          for (const auto& e : v) {
            RETURN_IF_ERROR(Scalar(e, GoKind::kUint32, owner, "uint8"));
            if (e.is_number() && !FitsInt(e, 0, 255)) {
              return Fail("number " + NumberText(e), owner, "uint8");
            }
          }
          return absl::OkStatus();
        }
        return Fail(GoJsonTypeName(v), owner, go_type);
      case GoKind::kStringMap:
        if (!v.is_object()) return Fail(GoJsonTypeName(v), owner, go_type);
        for (const auto& [k, e] : v.items()) {
          RETURN_IF_ERROR(Scalar(e, GoKind::kString, owner, "string"));
        }
        return absl::OkStatus();
      case GoKind::kStringSlice:
        if (!v.is_array()) return Fail(GoJsonTypeName(v), owner, go_type);
        for (const auto& e : v) RETURN_IF_ERROR(Scalar(e, GoKind::kString, owner, "string"));
        return absl::OkStatus();
      case GoKind::kStruct:
        if (!v.is_object() || !f.schema) {
          return f.schema ? Fail(GoJsonTypeName(v), owner, go_type) : absl::OkStatus();
        }
        return Struct(v, *f.schema);
      case GoKind::kStructSlice:
        if (!v.is_array()) return Fail(GoJsonTypeName(v), owner, go_type);
        if (!f.schema) return absl::OkStatus();
        for (const auto& e : v) {
          if (e.is_null()) continue;
          if (!e.is_object()) return Fail(GoJsonTypeName(e), owner, f.schema->go_type);
          RETURN_IF_ERROR(Struct(e, *f.schema));
        }
        return absl::OkStatus();
      default:
        return Scalar(v, f.kind, owner, go_type);
    }
  }

  std::vector<std::string> path_;
};

}  // namespace

std::string GoJsonTypeError(std::string_view json_type, std::string_view struct_field_path,
                            std::string_view go_type) {
  std::string out = "json: cannot unmarshal ";
  out.append(json_type).append(" into Go struct field ").append(struct_field_path);
  out.append(" of type ").append(go_type);
  return out;
}

std::string GoJsonTypeName(const json& v) {
  if (v.is_string()) return "string";
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "bool";
  if (v.is_array()) return "array";
  if (v.is_object()) return "object";
  return "null";
}

Status CheckGoTypes(const json& v, const GoSchema& schema) {
  if (v.is_null()) return absl::OkStatus();
  if (!v.is_object()) {
    return absl::InvalidArgumentError("json: cannot unmarshal " + GoJsonTypeName(v) +
                                      " into Go value of type " + schema.go_type);
  }
  return Checker().Struct(v, schema);
}

const json* GoField(const json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(name));
  if (it != obj.end()) return &*it;
  for (auto i = obj.begin(); i != obj.end(); ++i) {
    if (EqualFold(i.key(), name)) return &*i;
  }
  return nullptr;
}

}  // namespace capsule::http
