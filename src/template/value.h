// Values a template sees: Go's kinds reduced to what swarm templates can reach — nil (a
// missing value, printed "<no value>"), bool, int, float, string, list, map (string keys,
// ranged in key order as Go does) and struct (named fields in a fixed order; an unknown field
// is an error, as on a Go struct). Every string here, and every buffer a value or the engine
// allocates, uses WipeAllocator: memory is zeroed when it is freed, because templates are
// secret payloads and their output is a secret. Values are immutable and cheap to copy
// (compound parts are shared). Not thread-safe to mutate; safe to share once built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace capsule::tmpl {

// std::allocator that wipes (explicit_bzero) memory before giving it back.
template <class T>
struct WipeAllocator {
  using value_type = T;
  WipeAllocator() = default;
  template <class U>
  WipeAllocator(const WipeAllocator<U>&) {}  // NOLINT(google-explicit-constructor)
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n);
  friend bool operator==(const WipeAllocator&, const WipeAllocator&) { return true; }
};
void WipeBytes(void* p, size_t n);
template <class T>
void WipeAllocator<T>::deallocate(T* p, size_t n) {
  WipeBytes(p, n * sizeof(T));
  std::allocator<T>().deallocate(p, n);
}

using Str = std::basic_string<char, std::char_traits<char>, WipeAllocator<char>>;
template <class T>
using Vec = std::vector<T, WipeAllocator<T>>;

class Value;
using List = Vec<Value>;
using Map = std::map<Str, Value, std::less<>, WipeAllocator<std::pair<const Str, Value>>>;
struct Struct {
  Str type_name;  // as Go prints it in errors ("*template.Context", "template.Platform")
  Vec<std::pair<Str, Value>> fields;
};

class Value {
 public:
  enum class Kind { kNil, kBool, kInt, kFloat, kString, kList, kMap, kStruct };

  Value() = default;
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double d);
  static Value String(std::string_view s);
  static Value String(Str s);
  static Value String(const char* s) { return String(std::string_view(s)); }
  static Value FromList(List l);
  static Value FromMap(Map m);
  static Value FromStruct(Struct s);

  Kind kind() const { return kind_; }
  bool is_nil() const { return kind_ == Kind::kNil; }
  bool b() const { return b_; }
  int64_t i() const { return i_; }
  double f() const { return f_; }
  const Str& s() const { return s_; }
  const List& list() const { return *list_; }
  const Map& map() const { return *map_; }
  const Struct& st() const { return *struct_; }

  // Go's name of the value's type, for error messages ("string", "int", "map[string]string").
  Str TypeName() const;
  // Go's truth: false, 0, "", empty list/map and nil are false; structs are true.
  bool Truthy() const;

 private:
  Kind kind_ = Kind::kNil;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  Str s_;
  std::shared_ptr<const List> list_;
  std::shared_ptr<const Map> map_;
  std::shared_ptr<const Struct> struct_;
};

// Concatenates string pieces (absl::StrCat takes only five views before it needs AlphaNum).
std::string Cat(std::initializer_list<std::string_view> parts);

// fmt's %v form (Go's fmt.Sprint of one value): strings as they are, "[a b]", "map[k:v]",
// "{a b}", "<nil>" for nil. Appends to *out.
void AppendPrinted(const Value& v, Str* out);

}  // namespace capsule::tmpl
