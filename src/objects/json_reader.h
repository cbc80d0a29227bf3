// Reading Docker API JSON the way the engine's Go decoder does, for the service and task
// parsers (service_json.cc, service_codec.cc). Internal to objects/.
//  - A member is found by its exact key, else by an ASCII case-insensitive match; null counts
//    as absent.
//  - Each typed read leaves its output untouched when the member is absent and returns
//    InvalidArgument "invalid <path>: expected <type>" on a wrong type, <path> being the
//    dotted path from the object the parse started at ("TaskTemplate.ContainerSpec.Args").
// Times are RFC 3339 with nanoseconds; Go's zero time.Time renders as "0001-01-01T00:00:00Z".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "objects/objects.h"

namespace capsule::objects_internal {

inline constexpr char kZeroTime[] = "0001-01-01T00:00:00Z";  // Go's zero time.Time

// t as the API renders it: kZeroTime for TimePoint{}, else RFC 3339 with nanoseconds.
std::string ApiTime(TimePoint t);

// InvalidArgument "invalid <path>: expected <want>".
Status TypeError(const std::string& path, const char* want);

// Walks one JSON object (not owned; must outlive the reader) found at `path`.
class JsonReader {
 public:
  JsonReader(const Json& obj, std::string path);

  // The member Go's decoder would pick for `name`, or nullptr when absent or null.
  const Json* Get(std::string_view name) const;
  // path.name (or name at the top).
  std::string Path(std::string_view name) const;

  Status String(std::string_view name, std::string* out) const;
  Status Bool(std::string_view name, bool* out) const;
  Status Int(std::string_view name, int64_t* out) const;    // int64, also from unsigned
  Status Uint(std::string_view name, uint64_t* out) const;  // non-negative integers
  Status Double(std::string_view name, double* out) const;
  Status Strings(std::string_view name, std::vector<std::string>* out) const;
  Status StringMap(std::string_view name, Labels* out) const;  // null members are skipped
  // A nested object: nullptr when absent or null; type error when not an object.
  StatusOr<const Json*> Object(std::string_view name) const;
  // "" or kZeroTime → TimePoint{}.
  Status Time(std::string_view name, TimePoint* out) const;

 private:
  const Json& obj_;
  std::string path_;
};

}  // namespace capsule::objects_internal
