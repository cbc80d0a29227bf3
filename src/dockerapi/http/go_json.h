// Decoding JSON request bodies the way Go's encoding/json does, so that every error a
// client sees carries exactly Docker's text. Two entry points mirror Go's two APIs:
//   DecodeGoJson    = json.NewDecoder(r).Decode(&v)  (request bodies; trailing data ignored)
//   UnmarshalGoJson = json.Unmarshal(data, &v)      (query parameters such as `filters`)
// Both scan with a port of Go's scanner state machine (same messages, same max depth of
// 10000) and then build an nlohmann::json without recursing on the C stack.
//
// Values: strings are UTF-8 with invalid bytes replaced by U+FFFD (as Go does); numbers
// that are integer literals and fit int64 / uint64 stay integers, every other number is a
// double. Object keys are unique (a repeated key keeps its last value, as Go does).
//
// Type checking against a Go struct shape is separate (CheckGoTypes), because Go reports
// syntax errors before it reports type errors.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace capsule::http {

// Go's json.Decoder.Decode. Errors (all InvalidArgument):
//   - body empty or only whitespace: message "EOF" (see IsGoEof; Docker then answers
//     "got EOF while reading request body");
//   - body ends inside the first value: "unexpected EOF";
//   - syntax error: Go's scanner text, e.g. "invalid character 'x' after object key".
StatusOr<nlohmann::json> DecodeGoJson(const std::string& body);

// True for DecodeGoJson's "nothing but whitespace" result (Go's io.EOF).
bool IsGoEof(const Status& status);

// Go's json.Unmarshal syntax rules: the whole input must be exactly one value.
// Errors (InvalidArgument): "unexpected end of JSON input", "invalid character 'x' after
// top-level value", and the scanner texts above.
StatusOr<nlohmann::json> UnmarshalGoJson(const std::string& data);

// Go's strconv-style quoting of one byte in scanner errors: 'x', '\'', '"', '\\', '\n',
// '\x01', '\u0080', 'é' (a byte >= 0xA1 is printed as the Latin-1 rune it names).
std::string GoQuoteChar(unsigned char c);

// ---- Go struct shapes and type errors -------------------------------------------------

// "json: cannot unmarshal <json_type> into Go struct field <struct_field_path> of type <go_type>"
std::string GoJsonTypeError(std::string_view json_type, std::string_view struct_field_path,
                            std::string_view go_type);

// Go's name for a JSON value's type: string, number, bool, array, object (null → "null").
std::string GoJsonTypeName(const nlohmann::json& v);

enum class GoKind {
  kString,
  kBool,
  kInt,  // Go int (64-bit)
  kInt64,
  kUint32,
  kUint64,
  kFloat64,
  kBytes,        // []byte: a base64 string, checked with Go's StdEncoding rules
  kStringMap,    // map[string]string
  kStringSlice,  // []string
  kStruct,       // nested struct (schema)
  kStructSlice,  // []struct (schema)
  kAny,          // interface{} / json.RawMessage: anything goes
};

struct GoSchema;

struct GoFieldSpec {
  std::string name;  // the Go field's JSON name, e.g. "Name"
  GoKind kind = GoKind::kAny;
  std::shared_ptr<const GoSchema> schema;  // kStruct / kStructSlice
  // The type Go prints for this field; empty = derived from kind (and schema->go_type),
  // e.g. "fs.FileMode" for an os.FileMode field, "[]*swarm.SecretReference".
  std::string go_type;
};

struct GoSchema {
  std::string name;     // struct name in field errors: "SecretSpec"
  std::string go_type;  // full type in value errors: "swarm.SecretSpec"
  std::vector<GoFieldSpec> fields;
};

// Checks a decoded value against a struct shape the way json.Unmarshal would, returning the
// first error Go would report (InvalidArgument), e.g.
//   json: cannot unmarshal number into Go struct field SecretSpec.Name of type string
//   json: cannot unmarshal number 1.5 into Go struct field X.Y of type int64
//   json: cannot unmarshal array into Go value of type swarm.SecretSpec   (top level)
//   illegal base64 data at input byte 0                                   (kBytes)
// Keys match fields case-insensitively (exact match preferred); unknown keys are ignored;
// null is accepted anywhere. Field paths follow Go >= 1.15: innermost struct name, then the
// full path of field names from the root ("ContainerSpec.TaskTemplate.ContainerSpec.Image").
// Deviation: with several type errors in one body, Go reports the first in document order;
// nlohmann::json keeps keys sorted, so the first in key order is reported.
Status CheckGoTypes(const nlohmann::json& v, const GoSchema& schema);

// The member of `obj` that Go would decode into the field `name`: an exact key match, else
// a case-insensitive (ASCII) one. nullptr if none or if obj is not an object.
const nlohmann::json* GoField(const nlohmann::json& obj, std::string_view name);

}  // namespace capsule::http
