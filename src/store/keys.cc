#include "store/keys.h"

namespace capsule::store {

std::string KindPrefix(std::string_view kind) {
  std::string k(kObjectsPrefix);
  k.append(kind).append("/");
  return k;
}

std::string ObjectKey(std::string_view kind, std::string_view id) {
  return KindPrefix(kind).append(id);
}

std::string NameKey(std::string_view kind, std::string_view name_index) {
  std::string k("/capsule/v1/names/");
  k.append(kind).append("/").append(name_index);
  return k;
}

bool ParseObjectKey(std::string_view key, std::string* kind, std::string* id) {
  std::string_view prefix(kObjectsPrefix);
  if (key.substr(0, prefix.size()) != prefix) return false;
  key.remove_prefix(prefix.size());
  size_t slash = key.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == key.size()) return false;
  *kind = std::string(key.substr(0, slash));
  *id = std::string(key.substr(slash + 1));
  return true;
}

}  // namespace capsule::store
