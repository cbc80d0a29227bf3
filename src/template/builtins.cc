// Go's builtin template functions (text/template/funcs.go) for the supported subset, and the
// fmt verbs printf needs.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "template/ast.h"

namespace capsule::tmpl::internal {
namespace {

using Kind = Value::Kind;

bool Basic(const Value& v) {
  return v.kind() == Kind::kBool || v.kind() == Kind::kInt || v.kind() == Kind::kFloat ||
         v.kind() == Kind::kString;
}

absl::StatusOr<bool> Eq1(const Value& a, const Value& b) {
  if (a.kind() != b.kind()) {
    if (!a.is_nil() && !b.is_nil()) {
      return absl::InvalidArgumentError("incompatible types for comparison");
    }
    return false;
  }
  switch (a.kind()) {
    case Kind::kNil:
      return true;
    case Kind::kBool:
      return a.b() == b.b();
    case Kind::kInt:
      return a.i() == b.i();
    case Kind::kFloat:
      return a.f() == b.f();
    case Kind::kString:
      return a.s() == b.s();
    default:
      // Go names the values here; the type is enough (the values may be secrets).
      return absl::InvalidArgumentError(Cat({"non-comparable type ", a.TypeName()}));
  }
}

absl::StatusOr<Value> Eq(const Vec<Value>& args) {
  if (args.size() < 2) return absl::InvalidArgumentError("missing argument for comparison");
  for (size_t i = 1; i < args.size(); ++i) {
    absl::StatusOr<bool> e = Eq1(args[0], args[i]);
    if (!e.ok()) return e.status();
    if (*e) return Value::Bool(true);
  }
  return Value::Bool(false);
}

absl::StatusOr<bool> Lt(const Value& a, const Value& b) {
  if (!Basic(a) || !Basic(b)) return absl::InvalidArgumentError("invalid type for comparison");
  if (a.kind() != b.kind()) return absl::InvalidArgumentError("incompatible types for comparison");
  switch (a.kind()) {
    case Kind::kInt:
      return a.i() < b.i();
    case Kind::kFloat:
      return a.f() < b.f();
    case Kind::kString:
      return a.s() < b.s();
    default:
      return absl::InvalidArgumentError("invalid type for comparison");
  }
}

absl::StatusOr<bool> Le(const Value& a, const Value& b) {
  absl::StatusOr<bool> lt = Lt(a, b);
  if (!lt.ok() || *lt) return lt;
  return Eq1(a, b);
}

Function Fn(int fixed, bool variadic, std::function<absl::StatusOr<Value>(const Vec<Value>&)> fn) {
  Function f;
  f.fixed = fixed;
  f.variadic = variadic;
  f.fn = std::move(fn);
  return f;
}

void AppendQuoted(std::string_view s, Str* out) {
  out->push_back('"');
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = s[i];
    switch (c) {
      case '"':
        out->append("\\\"");
        continue;
      case '\\':
        out->append("\\\\");
        continue;
      case '\a':
        out->append("\\a");
        continue;
      case '\b':
        out->append("\\b");
        continue;
      case '\f':
        out->append("\\f");
        continue;
      case '\n':
        out->append("\\n");
        continue;
      case '\r':
        out->append("\\r");
        continue;
      case '\t':
        out->append("\\t");
        continue;
      case '\v':
        out->append("\\v");
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out->append(buf);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back('"');
}

void AppendBad(char verb, const Value& v, Str* out) {
  out->append("%!");
  out->push_back(verb);
  out->push_back('(');
  if (v.is_nil()) {
    out->append("<nil>");
  } else {
    out->append(v.TypeName());
    out->push_back('=');
    AppendPrinted(v, out);
  }
  out->push_back(')');
}

struct Spec {
  bool minus = false, plus = false, zero = false, space = false, sharp = false;
  int width = -1, prec = -1;
};

void AppendFloatVerb(char verb, const Spec& sp, double d, Str* out) {
  char fmt[16];
  std::snprintf(fmt, sizeof(fmt), "%%%s.*%c", sp.plus ? "+" : "", verb == 'F' ? 'f' : verb);
  const int prec = sp.prec >= 0 ? sp.prec : 6;
  const int n = std::snprintf(nullptr, 0, fmt, prec, d);
  Str buf(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(buf.data(), buf.size(), fmt, prec, d);
  buf.resize(static_cast<size_t>(n));
  out->append(buf);
}

// One verb applied to one value (Go's fmt, for the verbs templates use).
void FormatOne(char verb, const Spec& sp, const Value& v, Str* out) {
  switch (verb) {
    case 'v':
      AppendPrinted(v, out);
      return;
    case 's':
      if (v.kind() == Kind::kString || v.kind() == Kind::kList || v.kind() == Kind::kMap ||
          v.kind() == Kind::kStruct) {
        Str s;
        AppendPrinted(v, &s);
        if (sp.prec >= 0 && v.kind() == Kind::kString) {
          // Precision counts runes.
          size_t runes = 0, i = 0;
          for (; i < s.size(); ++i) {
            if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
              if (runes == static_cast<size_t>(sp.prec)) break;
              ++runes;
            }
          }
          s.resize(i);
        }
        out->append(s);
        return;
      }
      AppendBad(verb, v, out);
      return;
    case 'd':
      if (v.kind() == Kind::kInt) {
        if (sp.plus && v.i() >= 0) out->push_back('+');
        AppendPrinted(v, out);
        return;
      }
      AppendBad(verb, v, out);
      return;
    case 'q':
      if (v.kind() == Kind::kString) {
        AppendQuoted(v.s(), out);
        return;
      }
      if (v.kind() == Kind::kInt && v.i() >= 0x20 && v.i() < 0x7f) {
        out->push_back('\'');
        if (v.i() == '\'' || v.i() == '\\') out->push_back('\\');
        out->push_back(static_cast<char>(v.i()));
        out->push_back('\'');
        return;
      }
      AppendBad(verb, v, out);
      return;
    case 'x':
    case 'X': {
      const char* digits = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
      if (v.kind() == Kind::kString) {
        for (unsigned char c : v.s()) {
          out->push_back(digits[c >> 4]);
          out->push_back(digits[c & 15]);
        }
        return;
      }
      if (v.kind() == Kind::kInt) {
        uint64_t u = v.i() < 0 ? 0 - static_cast<uint64_t>(v.i()) : static_cast<uint64_t>(v.i());
        if (v.i() < 0) out->push_back('-');
        char buf[24];
        int n = 0;
        do {
          buf[n++] = digits[u & 15];
          u >>= 4;
        } while (u != 0);
        while (n > 0) out->push_back(buf[--n]);
        return;
      }
      AppendBad(verb, v, out);
      return;
    }
    case 't':
      if (v.kind() == Kind::kBool) {
        AppendPrinted(v, out);
        return;
      }
      AppendBad(verb, v, out);
      return;
    case 'f':
    case 'F':
    case 'e':
    case 'g':
      if (v.kind() == Kind::kFloat) {
        AppendFloatVerb(verb, sp, v.f(), out);
        return;
      }
      AppendBad(verb, v, out);
      return;
    case 'c':
      if (v.kind() == Kind::kInt && v.i() >= 0 && v.i() < 0x80) {
        out->push_back(static_cast<char>(v.i()));
        return;
      }
      AppendBad(verb, v, out);
      return;
    default:
      AppendBad(verb, v, out);
      return;
  }
}

constexpr int kMaxWidth = 1000000;  // Go's fmt refuses larger widths and precisions too

absl::StatusOr<Value> Sprintf(const Vec<Value>& args) {
  if (args[0].kind() != Kind::kString) {
    return absl::InvalidArgumentError(
        Cat({"wrong type for value; expected string; got ", args[0].TypeName()}));
  }
  std::string_view f = args[0].s();
  Str out;
  size_t argi = 1;
  for (size_t i = 0; i < f.size();) {
    if (f[i] != '%') {
      out.push_back(f[i++]);
      continue;
    }
    ++i;
    Spec sp;
    for (; i < f.size(); ++i) {
      const char c = f[i];
      if (c == '-') {
        sp.minus = true;
      } else if (c == '+') {
        sp.plus = true;
      } else if (c == '0') {
        sp.zero = true;
      } else if (c == ' ') {
        sp.space = true;
      } else if (c == '#') {
        sp.sharp = true;
      } else {
        break;
      }
    }
    bool bad_width = false, bad_prec = false;
    auto number = [&](int* n, bool* bad) {
      if (i < f.size() && f[i] == '*') {
        ++i;
        if (argi < args.size() && args[argi].kind() == Kind::kInt) {
          const int64_t w = args[argi++].i();
          if (w < -kMaxWidth || w > kMaxWidth) {
            *bad = true;
          } else {
            *n = static_cast<int>(w < 0 ? -w : w);
            if (w < 0) sp.minus = true;
          }
        } else {
          if (argi < args.size()) ++argi;
          *bad = true;
        }
        return;
      }
      int v = -1;
      while (i < f.size() && f[i] >= '0' && f[i] <= '9') {
        if (v <= kMaxWidth) v = (v < 0 ? 0 : v) * 10 + (f[i] - '0');  // stops growing past
        if (v > kMaxWidth) *bad = true;
        ++i;
      }
      if (v >= 0 && !*bad) *n = v;
    };
    number(&sp.width, &bad_width);
    if (i < f.size() && f[i] == '.') {
      ++i;
      sp.prec = 0;
      number(&sp.prec, &bad_prec);
    }
    if (bad_width) out.append("%!(BADWIDTH)");
    if (bad_prec) out.append("%!(BADPREC)");
    if (i >= f.size()) {
      out.append("%!(NOVERB)");
      break;
    }
    const char verb = f[i++];
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (argi >= args.size()) {
      out.append("%!");
      out.push_back(verb);
      out.append("(MISSING)");
      continue;
    }
    Str piece;
    FormatOne(verb, sp, args[argi++], &piece);
    if (sp.width > 0 && piece.size() < static_cast<size_t>(sp.width)) {
      const size_t pad = static_cast<size_t>(sp.width) - piece.size();
      if (sp.minus) {
        piece.append(pad, ' ');
      } else if (sp.zero && verb != 's' && verb != 'q' && verb != 'v') {
        const size_t sign = (!piece.empty() && (piece[0] == '-' || piece[0] == '+')) ? 1 : 0;
        piece.insert(sign, pad, '0');
      } else {
        piece.insert(0, pad, ' ');
      }
    }
    out.append(piece);
  }
  if (argi < args.size()) {
    out.append("%!(EXTRA ");
    for (size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out.append(", ");
      if (args[k].is_nil()) {
        out.append("<nil>");
      } else {
        out.append(args[k].TypeName());
        out.push_back('=');
        AppendPrinted(args[k], &out);
      }
    }
    out.push_back(')');
  }
  return Value::String(std::move(out));
}

const FuncMap& Builtins() {
  static const FuncMap* m = [] {
    auto* f = new FuncMap;
    (*f)["and"] = Fn(2, true, nullptr);  // evaluated lazily in exec.cc
    (*f)["or"] = Fn(2, true, nullptr);
    (*f)["not"] = Fn(1, false, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      return Value::Bool(!a[0].Truthy());
    });
    (*f)["eq"] = Fn(2, true, Eq);
    (*f)["ne"] = Fn(2, false, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      absl::StatusOr<bool> e = Eq1(a[0], a[1]);
      if (!e.ok()) return e.status();
      return Value::Bool(!*e);
    });
    (*f)["lt"] = Fn(2, false, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      absl::StatusOr<bool> r = Lt(a[0], a[1]);
      if (!r.ok()) return r.status();
      return Value::Bool(*r);
    });
    (*f)["le"] = Fn(2, false, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      absl::StatusOr<bool> r = Le(a[0], a[1]);
      if (!r.ok()) return r.status();
      return Value::Bool(*r);
    });
    (*f)["gt"] = Fn(2, false, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      absl::StatusOr<bool> r = Le(a[0], a[1]);
      if (!r.ok()) return r.status();
      return Value::Bool(!*r);
    });
    (*f)["ge"] = Fn(2, false, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      absl::StatusOr<bool> r = Lt(a[0], a[1]);
      if (!r.ok()) return r.status();
      return Value::Bool(!*r);
    });
    (*f)["len"] = Fn(1, false, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      switch (a[0].kind()) {
        case Kind::kString:
          return Value::Int(static_cast<int64_t>(a[0].s().size()));
        case Kind::kList:
          return Value::Int(static_cast<int64_t>(a[0].list().size()));
        case Kind::kMap:
          return Value::Int(static_cast<int64_t>(a[0].map().size()));
        case Kind::kNil:
          return absl::InvalidArgumentError("len of untyped nil");
        default:
          return absl::InvalidArgumentError(Cat({"len of type ", a[0].TypeName()}));
      }
    });
    (*f)["index"] = Fn(2, true, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      Value item = a[0];
      for (size_t i = 1; i < a.size(); ++i) {
        const Value& x = a[i];
        switch (item.kind()) {
          case Kind::kNil:
            return absl::InvalidArgumentError("index of untyped nil");
          case Kind::kMap: {
            if (x.kind() != Kind::kString) {
              return absl::InvalidArgumentError(
                  Cat({"value has type ", x.TypeName(), "; should be string"}));
            }
            auto it = item.map().find(std::string_view(x.s()));
            Value next = it == item.map().end() ? Value::String(std::string_view()) : it->second;
            item = std::move(next);
            break;
          }
          case Kind::kList:
          case Kind::kString: {
            if (x.is_nil()) return absl::InvalidArgumentError("cannot index slice/array with nil");
            if (x.kind() != Kind::kInt) {
              return absl::InvalidArgumentError(
                  Cat({"cannot index slice/array with type ", x.TypeName()}));
            }
            const size_t n = item.kind() == Kind::kList ? item.list().size() : item.s().size();
            if (x.i() < 0 || static_cast<uint64_t>(x.i()) >= n) {
              return absl::InvalidArgumentError(
                  Cat({"index out of range: ", std::to_string(x.i())}));
            }
            Value next = item.kind() == Kind::kList
                             ? item.list()[static_cast<size_t>(x.i())]
                             : Value::Int(static_cast<unsigned char>(item.s()[x.i()]));
            item = std::move(next);
            break;
          }
          default:
            return absl::InvalidArgumentError(Cat({"can't index item of type ", item.TypeName()}));
        }
      }
      return item;
    });
    (*f)["print"] = Fn(1, true, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      Str out;
      for (size_t i = 0; i < a.size(); ++i) {
        // fmt.Sprint: a space between operands when neither is a string.
        if (i > 0 && a[i].kind() != Kind::kString && a[i - 1].kind() != Kind::kString) {
          out.push_back(' ');
        }
        AppendPrinted(a[i], &out);
      }
      return Value::String(std::move(out));
    });
    (*f)["println"] = Fn(1, true, [](const Vec<Value>& a) -> absl::StatusOr<Value> {
      Str out;
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out.push_back(' ');
        AppendPrinted(a[i], &out);
      }
      out.push_back('\n');
      return Value::String(std::move(out));
    });
    (*f)["printf"] = Fn(2, true, Sprintf);
    return f;
  }();
  return *m;
}

}  // namespace

const Function* Builtin(std::string_view name) {
  auto it = Builtins().find(name);
  return it == Builtins().end() ? nullptr : &it->second;
}

bool IsBuiltin(std::string_view name) { return Builtin(name) != nullptr; }

}  // namespace capsule::tmpl::internal
