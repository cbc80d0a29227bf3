#include "template/value.h"

#include <string.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace capsule::tmpl {

void WipeBytes(void* p, size_t n) { explicit_bzero(p, n); }

std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::Float(double d) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = d;
  return v;
}

Value Value::String(std::string_view s) { return String(Str(s)); }

Value Value::String(Str s) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::move(s);
  return v;
}

Value Value::FromList(List l) {
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<const List>(std::move(l));
  return v;
}

Value Value::FromMap(Map m) {
  Value v;
  v.kind_ = Kind::kMap;
  v.map_ = std::make_shared<const Map>(std::move(m));
  return v;
}

Value Value::FromStruct(Struct s) {
  Value v;
  v.kind_ = Kind::kStruct;
  v.struct_ = std::make_shared<const Struct>(std::move(s));
  return v;
}

Str Value::TypeName() const {
  switch (kind_) {
    case Kind::kNil:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "[]string";
    case Kind::kMap:
      return "map[string]string";
    case Kind::kStruct:
      return struct_->type_name;
  }
  return "?";
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return b_;
    case Kind::kInt:
      return i_ != 0;
    case Kind::kFloat:
      return f_ != 0;
    case Kind::kString:
      return !s_.empty();
    case Kind::kList:
      return !list_->empty();
    case Kind::kMap:
      return !map_->empty();
    case Kind::kStruct:
      return true;
  }
  return false;
}

namespace {

// Go's strconv.FormatFloat(f, 'g', -1, 64): shortest digits; exponent form when the decimal
// exponent is < -4 or >= 21 (fmt's %v rule), with at least two exponent digits.
void AppendFloat(double d, Str* out) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string_view sci(buf, r.ptr - buf);
  if (sci == "inf" || sci == "-inf" || sci == "nan" || sci == "-nan") {
    out->append(sci == "inf" ? "+Inf" : sci == "-inf" ? "-Inf" : "NaN");
    return;
  }
  const size_t e = sci.find('e');
  std::string_view mant = sci.substr(0, e);
  const int exp = std::atoi(std::string(sci.substr(e + 1)).c_str());
  bool neg = false;
  if (!mant.empty() && mant[0] == '-') {
    neg = true;
    mant.remove_prefix(1);
  }
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits.push_back(c);
  }
  if (neg) out->push_back('-');
  if (exp < -4 || exp >= 21) {
    out->push_back(digits[0]);
    if (digits.size() > 1) {
      out->push_back('.');
      out->append(digits.substr(1));
    }
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out->append(eb);
    return;
  }
  if (exp < 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-exp - 1), '0');
    out->append(digits);
    return;
  }
  const size_t int_len = static_cast<size_t>(exp) + 1;
  if (digits.size() <= int_len) {
    out->append(digits);
    out->append(int_len - digits.size(), '0');
  } else {
    out->append(digits.substr(0, int_len));
    out->push_back('.');
    out->append(digits.substr(int_len));
  }
}

}  // namespace

void AppendPrinted(const Value& v, Str* out) {
  switch (v.kind()) {
    case Value::Kind::kNil:
      out->append("<nil>");
      return;
    case Value::Kind::kBool:
      out->append(v.b() ? "true" : "false");
      return;
    case Value::Kind::kInt: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof(buf), v.i());
      out->append(buf, r.ptr - buf);
      return;
    }
    case Value::Kind::kFloat:
      AppendFloat(v.f(), out);
      return;
    case Value::Kind::kString:
      out->append(v.s());
      return;
    case Value::Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const Value& e : v.list()) {
        if (!first) out->push_back(' ');
        first = false;
        AppendPrinted(e, out);
      }
      out->push_back(']');
      return;
    }
    case Value::Kind::kMap: {
      out->append("map[");
      bool first = true;
      for (const auto& [k, e] : v.map()) {
        if (!first) out->push_back(' ');
        first = false;
        out->append(k);
        out->push_back(':');
        AppendPrinted(e, out);
      }
      out->push_back(']');
      return;
    }
    case Value::Kind::kStruct: {
      out->push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.st().fields) {
        if (!first) out->push_back(' ');
        first = false;
        AppendPrinted(e, out);
      }
      out->push_back('}');
      return;
    }
  }
}

}  // namespace capsule::tmpl
