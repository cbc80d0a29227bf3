// The parser: Go's text/template/parse for the supported subset, with Go's messages.
#include <cerrno>
#include <cstdlib>
#include <string>

#include "template/ast.h"
#include "template/lexer.h"

namespace capsule::tmpl::internal {
namespace {

#define RETURN_IF_ERROR_P(expr)        \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (0)

using T = Token::Type;

// Appends code point r as UTF-8; false for an invalid code point.
bool AppendRune(uint32_t r, Str* out) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return false;
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
  return true;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Go's strconv.Unquote for "…", `…` and '…' (a character: its code point in *rune).
bool Unquote(std::string_view q, Str* out, uint32_t* rune = nullptr) {
  if (q.size() < 2) return false;
  const char quote = q.front();
  if (q.back() != quote) return false;
  std::string_view in = q.substr(1, q.size() - 2);
  if (quote == '`') {
    for (char c : in) {
      if (c != '\r') out->push_back(c);
    }
    return true;
  }
  Str s;
  size_t runes = 0;
  uint32_t last = 0;
  for (size_t i = 0; i < in.size();) {
    const unsigned char c = in[i];
    if (c == static_cast<unsigned char>(quote) || c == '\n') return false;
    if (c != '\\') {
      // One UTF-8 sequence (taken as it is; its code point matters only for characters).
      size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
      if (i + n > in.size()) n = 1;
      last = c < 0x80 ? c : 0;
      if (n > 1) {
        last = c & (0xFF >> (n + 1));
        for (size_t k = 1; k < n; ++k) last = (last << 6) | (in[i + k] & 0x3F);
      }
      s.append(in.substr(i, n));
      i += n;
      ++runes;
      continue;
    }
    if (++i >= in.size()) return false;
    const char e = in[i++];
    uint32_t v = 0;
    switch (e) {
      case 'a':
        v = '\a';
        break;
      case 'b':
        v = '\b';
        break;
      case 'f':
        v = '\f';
        break;
      case 'n':
        v = '\n';
        break;
      case 'r':
        v = '\r';
        break;
      case 't':
        v = '\t';
        break;
      case 'v':
        v = '\v';
        break;
      case '\\':
        v = '\\';
        break;
      case '\'':
      case '"':
        if (e != quote) return false;
        v = static_cast<unsigned char>(e);
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (i + n > in.size()) return false;
        for (size_t k = 0; k < n; ++k) {
          const int h = HexVal(in[i + k]);
          if (h < 0) return false;
          v = v * 16 + static_cast<uint32_t>(h);
        }
        i += n;
        if (e == 'x') {
          s.push_back(static_cast<char>(v));
          last = v;
          ++runes;
          continue;
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          if (i + 2 > in.size()) return false;
          v = static_cast<uint32_t>(e - '0');
          for (size_t k = 0; k < 2; ++k) {
            const char d = in[i + k];
            if (d < '0' || d > '7') return false;
            v = v * 8 + static_cast<uint32_t>(d - '0');
          }
          if (v > 255) return false;
          i += 2;
          s.push_back(static_cast<char>(v));
          last = v;
          ++runes;
          continue;
        }
        return false;
    }
    if (!AppendRune(v, &s)) return false;
    last = v;
    ++runes;
  }
  if (quote == '\'') {
    if (runes != 1) return false;
    *rune = last;
  }
  *out = std::move(s);
  return true;
}

// Go's number literals (ints in decimal, 0x, 0o, 0b and with underscores; floats): the value
// as an int when the text has no '.', exponent or 'p' (Go's idealConstant), else a float.
bool ParseNumber(std::string_view text, Value* out) {
  std::string t;
  for (char c : text) {
    if (c != '_') t.push_back(c);
  }
  if (t.empty()) return false;
  std::string body = t;
  bool neg = false;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    body = body.substr(1);
  }
  if (body.empty()) return false;
  const bool hex = body.size() > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X');
  const bool is_float = hex ? body.find_first_of(".pP") != std::string::npos
                            : body.find_first_of(".eE") != std::string::npos;
  errno = 0;
  char* end = nullptr;
  if (!is_float) {
    int base = 10;
    std::string digits = body;
    if (hex) {
      base = 16;
      digits = body.substr(2);
    } else if (body.size() > 1 && body[0] == '0' && (body[1] == 'o' || body[1] == 'O')) {
      base = 8;
      digits = body.substr(2);
    } else if (body.size() > 1 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) {
      base = 2;
      digits = body.substr(2);
    } else if (body.size() > 1 && body[0] == '0') {
      base = 8;
      digits = body.substr(1);
    }
    if (digits.empty() || digits[0] == '+' || digits[0] == '-') return false;
    const unsigned long long v = std::strtoull(digits.c_str(), &end, base);
    if (errno != 0 || *end != '\0') return false;
    if (v > (neg ? 9223372036854775808ULL : 9223372036854775807ULL)) return false;
    *out = Value::Int(neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v));
    return true;
  }
  if (!hex && body.find_first_not_of("0123456789.eE+-") != std::string::npos) return false;
  const double d = std::strtod(t.c_str(), &end);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = Value::Float(d);
  return true;
}

// Go's %q of template text (quotes and backslashes escaped).
Str GoQuote(std::string_view s) {
  Str q = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') q.push_back('\\');
    if (c == '\n') {
      q.append("\\n");
      continue;
    }
    q.push_back(c);
  }
  q.push_back('"');
  return q;
}

size_t TokenEnd(const Token& t) { return t.pos + t.val.size() + (t.type == T::kField ? 1 : 0); }

class Parser {
 public:
  Parser(Tree& tree, Vec<Token> tokens) : tree_(tree), toks_(std::move(tokens)) {
    vars_.push_back("$");
  }

  absl::Status Run() {
    Vec<Node> list;
    while (Peek().type != T::kEOF) {
      Ctl ctl = Ctl::kNode;
      Node n;
      RETURN_IF_ERROR_P(TextOrAction(&n, &ctl));
      if (ctl == Ctl::kEnd) return Error("unexpected {{end}}");
      if (ctl == Ctl::kElse) return Error("unexpected {{else}}");
      list.push_back(std::move(n));
    }
    tree_.root = std::move(list);
    return absl::OkStatus();
  }

 private:
  enum class Ctl { kNode, kElse, kElseIf, kEnd };

  const Token& Peek() const { return toks_[i_]; }
  const Token& Next() {
    const Token& t = toks_[i_];
    if (t.type != T::kEOF) ++i_;
    line_ = t.line;
    return t;
  }
  void Backup() { --i_; }
  const Token& PeekNonSpace() {
    while (toks_[i_].type == T::kSpace) ++i_;
    return toks_[i_];
  }
  const Token& NextNonSpace() {
    PeekNonSpace();
    return Next();
  }

  absl::Status Error(std::string_view msg) const {
    return absl::InvalidArgumentError(
        Cat({"template: ", tree_.name, ":", std::to_string(line_), ": ", msg}));
  }
  static Str Describe(const Token& t) {
    switch (t.type) {
      case T::kEOF:
        return "EOF";
      case T::kKeyword:
        return Str(Cat({"<", t.val, ">"}));
      default:
        break;
    }
    Str q;
    q.push_back('"');
    std::string_view v = t.type == T::kField ? std::string_view(".") : std::string_view();
    Str full = Str(v) + t.val;
    std::string_view shown = full;
    if (shown.size() > 10) shown = shown.substr(0, 10);
    for (char c : shown) {
      if (c == '"' || c == '\\') q.push_back('\\');
      if (c == '\n') {
        q.append("\\n");
        continue;
      }
      q.push_back(c);
    }
    q.push_back('"');
    if (full.size() > 10) q.append("...");
    return q;
  }
  absl::Status Unexpected(const Token& t, std::string_view context) const {
    return Error(Cat({"unexpected ", Describe(t), " in ", context}));
  }
  absl::Status Enter() {
    if (++depth_ > tree_.limits.max_depth) return Error("max expression depth exceeded");
    return absl::OkStatus();
  }

  absl::Status TextOrAction(Node* n, Ctl* ctl) {
    const Token& t = NextNonSpace();
    if (t.type == T::kText) {
      n->kind = Node::Kind::kText;
      n->pos = t.pos;
      n->text = t.val;
      return absl::OkStatus();
    }
    if (t.type == T::kLeft) return Action(n, ctl);
    return Unexpected(t, "input");
  }

  absl::Status Action(Node* n, Ctl* ctl) {
    const Token& t = NextNonSpace();
    if (t.type == T::kKeyword) {
      if (t.val == "else") return ElseControl(ctl);
      if (t.val == "end") {
        *ctl = Ctl::kEnd;
        return Expect(T::kRight, "end");
      }
      if (t.val == "if") return Control(Node::Kind::kIf, "if", t.pos, n);
      if (t.val == "range") return Control(Node::Kind::kRange, "range", t.pos, n);
      if (t.val == "with") return Control(Node::Kind::kWith, "with", t.pos, n);
      return Error(Cat({"{{", t.val, "}} is not supported"}));
    }
    Backup();
    const Token& first = PeekNonSpace();
    n->kind = Node::Kind::kAction;
    n->pos = first.pos;
    n->pipe = std::make_unique<Pipe>();
    return Pipeline("command", T::kRight, n->pipe.get());
  }

  absl::Status Expect(T type, std::string_view context) {
    const Token& t = NextNonSpace();
    if (t.type != type) return Unexpected(t, context);
    return absl::OkStatus();
  }

  absl::Status ElseControl(Ctl* ctl) {
    const Token& p = PeekNonSpace();
    if (p.type == T::kKeyword && p.val == "if") {
      *ctl = Ctl::kElseIf;  // "if" is left for the enclosing if to consume
      return absl::OkStatus();
    }
    *ctl = Ctl::kElse;
    return Expect(T::kRight, "else");
  }

  // Parses until {{else}} or {{end}}; *ctl says which ended it.
  absl::Status ItemList(Vec<Node>* list, Ctl* ctl) {
    while (PeekNonSpace().type != T::kEOF) {
      Node n;
      Ctl c = Ctl::kNode;
      RETURN_IF_ERROR_P(TextOrAction(&n, &c));
      if (c != Ctl::kNode) {
        *ctl = c;
        return absl::OkStatus();
      }
      list->push_back(std::move(n));
    }
    return Error("unexpected EOF");
  }

  absl::Status Control(Node::Kind kind, std::string_view context, size_t pos, Node* n) {
    RETURN_IF_ERROR_P(Enter());
    const size_t vars_mark = vars_.size();
    n->kind = kind;
    n->pos = pos;
    n->pipe = std::make_unique<Pipe>();
    RETURN_IF_ERROR_P(Pipeline(context, T::kRight, n->pipe.get()));
    Ctl ctl = Ctl::kNode;
    RETURN_IF_ERROR_P(ItemList(&n->list, &ctl));
    if (ctl == Ctl::kElseIf) {
      if (kind != Node::Kind::kIf) return Error("unexpected {{else if}}");  // Go: not in range
      NextNonSpace();                                                       // the "if"
      Node nested;
      RETURN_IF_ERROR_P(Control(Node::Kind::kIf, "if", Peek().pos, &nested));
      n->has_else = true;
      n->else_list.push_back(std::move(nested));
    } else if (ctl == Ctl::kElse) {
      n->has_else = true;
      Ctl end = Ctl::kNode;
      RETURN_IF_ERROR_P(ItemList(&n->else_list, &end));
      if (end != Ctl::kEnd) return Error("expected end; found {{else}}");
    }
    vars_.resize(vars_mark);
    --depth_;
    return absl::OkStatus();
  }

  bool HasVar(std::string_view name) const {
    for (const Str& v : vars_) {
      if (v == name) return true;
    }
    return false;
  }

  absl::Status Pipeline(std::string_view context, T end, Pipe* pipe) {
    pipe->pos = PeekNonSpace().pos;
    // Declarations: "$x :=", "$x =", and in range "$i, $v :=".
    for (;;) {
      if (PeekNonSpace().type != T::kVariable) break;
      const size_t save = i_;
      const Token& v = Next();
      const Token& after = PeekNonSpace();
      if (after.type == T::kDeclare || after.type == T::kAssign) {
        pipe->is_assign = after.type == T::kAssign;
        if (pipe->is_assign && !HasVar(v.val)) {
          return Error(Cat({"undefined variable \"", v.val, "\""}));
        }
        NextNonSpace();
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
        break;
      }
      if (after.type == T::kComma) {
        NextNonSpace();
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
        if (context == "range" && pipe->decl.size() < 2) {
          const T p = PeekNonSpace().type;
          if (p == T::kVariable || p == T::kRight || p == T::kRParen) continue;
          return Error("range can only initialize variables");
        }
        return Error(Cat({"too many declarations in ", context}));
      }
      i_ = save;
      break;
    }
    for (;;) {
      const Token& t = NextNonSpace();
      if (t.type == end) return CheckPipeline(*pipe, context);
      switch (t.type) {
        case T::kBool:
        case T::kChar:
        case T::kDot:
        case T::kField:
        case T::kIdent:
        case T::kNumber:
        case T::kNil:
        case T::kRawString:
        case T::kString:
        case T::kVariable:
        case T::kLParen: {
          Backup();
          Command cmd;
          RETURN_IF_ERROR_P(ParseCommand(&cmd));
          pipe->cmds.push_back(std::move(cmd));
          break;
        }
        default:
          return Unexpected(t, context);
      }
    }
  }

  absl::Status CheckPipeline(const Pipe& pipe, std::string_view context) {
    if (pipe.cmds.empty()) return Error(Cat({"missing value for ", context}));
    for (size_t i = 1; i < pipe.cmds.size(); ++i) {
      const Arg::Kind k = pipe.cmds[i].args[0].kind;
      if (k == Arg::Kind::kConst || k == Arg::Kind::kDot || k == Arg::Kind::kNil) {
        return Error(Cat({"non executable command in pipeline stage ", std::to_string(i + 1)}));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseCommand(Command* cmd) {
    cmd->pos = PeekNonSpace().pos;
    for (;;) {
      PeekNonSpace();
      Arg a;
      bool got = false;
      RETURN_IF_ERROR_P(Operand(&a, &got));
      if (got) cmd->args.push_back(std::move(a));
      const Token& t = Next();
      if (t.type == T::kSpace) continue;
      if (t.type == T::kRight || t.type == T::kRParen) {
        Backup();
      } else if (t.type != T::kPipe) {
        return Unexpected(t, "operand");
      }
      break;
    }
    if (cmd->args.empty()) return Error("empty command");
    return absl::OkStatus();
  }

  absl::Status Operand(Arg* a, bool* got) {
    RETURN_IF_ERROR_P(Term(a, got));
    if (!*got || Peek().type != T::kField) return absl::OkStatus();
    if (a->kind == Arg::Kind::kConst || a->kind == Arg::Kind::kNil || a->kind == Arg::Kind::kDot) {
      return Error(Cat({"unexpected . after term ", GoQuote(a->text)}));
    }
    if (a->kind == Arg::Kind::kFunc) {
      // Go builds a chain on an identifier; evaluating it calls the function first. Rare
      // enough to refuse.
      return Error(Cat({"unexpected . after term ", GoQuote(a->text)}));
    }
    while (Peek().type == T::kField) {
      const Token& f = Next();
      a->fields.push_back(f.val);
      a->text.append(".");
      a->text.append(f.val);
    }
    return absl::OkStatus();
  }

  absl::Status Term(Arg* a, bool* got) {
    const Token& t = NextNonSpace();
    a->pos = t.pos;
    a->text = Str(tree_.source.substr(t.pos, TokenEnd(t) - t.pos));
    *got = true;
    switch (t.type) {
      case T::kIdent:
        if (!IsBuiltin(t.val) && tree_.funcs.find(std::string_view(t.val)) == tree_.funcs.end()) {
          return Error(Cat({"function \"", t.val, "\" not defined"}));
        }
        a->kind = Arg::Kind::kFunc;
        a->name = t.val;
        return absl::OkStatus();
      case T::kDot:
        a->kind = Arg::Kind::kDot;
        return absl::OkStatus();
      case T::kNil:
        a->kind = Arg::Kind::kNil;
        return absl::OkStatus();
      case T::kVariable:
        if (!HasVar(t.val)) return Error(Cat({"undefined variable \"", t.val, "\""}));
        a->kind = Arg::Kind::kVariable;
        a->name = t.val;
        return absl::OkStatus();
      case T::kField:
        a->kind = Arg::Kind::kField;
        a->fields.push_back(t.val);
        return absl::OkStatus();
      case T::kBool:
        a->kind = Arg::Kind::kConst;
        a->constant = Value::Bool(t.val == "true");
        return absl::OkStatus();
      case T::kNumber:
        a->kind = Arg::Kind::kConst;
        if (!ParseNumber(t.val, &a->constant)) {
          return Error(Cat({"bad number syntax: \"", t.val, "\""}));
        }
        return absl::OkStatus();
      case T::kChar: {
        a->kind = Arg::Kind::kConst;
        Str ignored;
        uint32_t r = 0;
        if (!Unquote(t.val, &ignored, &r)) {
          return Error(Cat({"malformed character constant: ", t.val}));
        }
        a->constant = Value::Int(r);
        return absl::OkStatus();
      }
      case T::kString:
      case T::kRawString: {
        a->kind = Arg::Kind::kConst;
        Str s;
        if (!Unquote(t.val, &s)) return Error("invalid syntax");
        a->constant = Value::String(std::move(s));
        return absl::OkStatus();
      }
      case T::kLParen: {
        RETURN_IF_ERROR_P(Enter());
        a->kind = Arg::Kind::kPipe;
        a->pipe = std::make_unique<Pipe>();
        RETURN_IF_ERROR_P(Pipeline("parenthesized pipeline", T::kRParen, a->pipe.get()));
        --depth_;
        a->text = Str(tree_.source.substr(t.pos, toks_[i_ - 1].pos + 1 - t.pos));
        return absl::OkStatus();
      }
      default:
        Backup();
        *got = false;
        return absl::OkStatus();
    }
  }

  Tree& tree_;
  Vec<Token> toks_;
  size_t i_ = 0;
  int line_ = 1;
  int depth_ = 0;
  Vec<Str> vars_;
};

}  // namespace

absl::Status ParseTree(Tree* tree) {
  if (tree->source.size() > tree->limits.max_template_bytes) {
    return absl::InvalidArgumentError(
        Cat({"template: ", tree->name, ": template exceeds ",
             std::to_string(tree->limits.max_template_bytes), " bytes"}));
  }
  absl::StatusOr<Vec<Token>> tokens = Lex(tree->name, tree->source);
  if (!tokens.ok()) return tokens.status();
  return Parser(*tree, *std::move(tokens)).Run();
}

}  // namespace capsule::tmpl::internal
