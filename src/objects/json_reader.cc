#include "objects/json_reader.h"

#include <utility>

namespace capsule::objects_internal {
namespace {

// The member Go's decoder would pick for `name`: exact key, else ASCII case-insensitive.
const Json* Field(const Json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(std::string(name));
  if (it != obj.end()) return it->is_null() ? nullptr : &*it;
  for (auto i = obj.begin(); i != obj.end(); ++i) {
    const std::string& k = i.key();
    if (k.size() != name.size()) continue;
    bool eq = true;
    for (size_t c = 0; c < k.size() && eq; ++c) {
      unsigned char a = k[c], b = name[c];
      if (a >= 'A' && a <= 'Z') a += 32;
      if (b >= 'A' && b <= 'Z') b += 32;
      eq = a == b;
    }
    if (eq) return i->is_null() ? nullptr : &*i;
  }
  return nullptr;
}

}  // namespace

std::string ApiTime(TimePoint t) { return t == TimePoint{} ? kZeroTime : FormatRfc3339Nano(t); }

Status TypeError(const std::string& path, const char* want) {
  return absl::InvalidArgumentError("invalid " + path + ": expected " + want);
}

JsonReader::JsonReader(const Json& obj, std::string path) : obj_(obj), path_(std::move(path)) {}

const Json* JsonReader::Get(std::string_view name) const { return Field(obj_, name); }

std::string JsonReader::Path(std::string_view name) const {
  return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
}

Status JsonReader::String(std::string_view name, std::string* out) const {
  const Json* v = Get(name);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_string()) return TypeError(Path(name), "string");
  *out = v->get<std::string>();
  return absl::OkStatus();
}

Status JsonReader::Bool(std::string_view name, bool* out) const {
  const Json* v = Get(name);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_boolean()) return TypeError(Path(name), "bool");
  *out = v->get<bool>();
  return absl::OkStatus();
}

Status JsonReader::Int(std::string_view name, int64_t* out) const {
  const Json* v = Get(name);
  if (v == nullptr) return absl::OkStatus();
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      return TypeError(Path(name), "int64");
    }
    *out = static_cast<int64_t>(v->get<uint64_t>());
    return absl::OkStatus();
  }
  if (!v->is_number_integer()) return TypeError(Path(name), "int64");
  *out = v->get<int64_t>();
  return absl::OkStatus();
}

Status JsonReader::Uint(std::string_view name, uint64_t* out) const {
  const Json* v = Get(name);
  if (v == nullptr) return absl::OkStatus();
  if (v->is_number_unsigned()) {
    *out = v->get<uint64_t>();
    return absl::OkStatus();
  }
  if (v->is_number_integer() && v->get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v->get<int64_t>());
    return absl::OkStatus();
  }
  return TypeError(Path(name), "uint64");
}

Status JsonReader::Double(std::string_view name, double* out) const {
  const Json* v = Get(name);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_number()) return TypeError(Path(name), "number");
  *out = v->get<double>();
  return absl::OkStatus();
}

Status JsonReader::Strings(std::string_view name, std::vector<std::string>* out) const {
  const Json* v = Get(name);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_array()) return TypeError(Path(name), "array of strings");
  out->clear();
  for (const Json& e : *v) {
    if (!e.is_string()) return TypeError(Path(name), "array of strings");
    out->push_back(e.get<std::string>());
  }
  return absl::OkStatus();
}

Status JsonReader::StringMap(std::string_view name, Labels* out) const {
  const Json* v = Get(name);
  if (v == nullptr) return absl::OkStatus();
  if (!v->is_object()) return TypeError(Path(name), "object of strings");
  out->clear();
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (it->is_null()) continue;
    if (!it->is_string()) return TypeError(Path(name) + "." + it.key(), "string");
    (*out)[it.key()] = it->get<std::string>();
  }
  return absl::OkStatus();
}

StatusOr<const Json*> JsonReader::Object(std::string_view name) const {
  const Json* v = Get(name);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) return TypeError(Path(name), "object");
  return v;
}

Status JsonReader::Time(std::string_view name, TimePoint* out) const {
  std::string s;
  RETURN_IF_ERROR(String(name, &s));
  if (s.empty() || s == kZeroTime) {
    *out = TimePoint{};
    return absl::OkStatus();
  }
  if (!ParseRfc3339Nano(s, out)) return TypeError(Path(name), "RFC 3339 time");
  return absl::OkStatus();
}

}  // namespace capsule::objects_internal
