// Execution: Go's text/template exec.go for the supported subset, with Go's messages.
#include <string>

#include "template/ast.h"
#include "template/template.h"

namespace capsule::tmpl {
namespace internal {
namespace {

#define RETURN_IF_ERROR_X(expr)        \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (0)
#define ASSIGN_OR_RETURN_X(lhs, expr)                 \
  auto CAT_X(tmp_, __LINE__) = (expr);                \
  if (!CAT_X(tmp_, __LINE__).ok()) {                  \
    return std::move(CAT_X(tmp_, __LINE__)).status(); \
  }                                                   \
  lhs = *std::move(CAT_X(tmp_, __LINE__))
#define CAT_X_(a, b) a##b
#define CAT_X(a, b) CAT_X_(a, b)

class Exec {
 public:
  Exec(const Tree& t, const Value& data) : t_(t), root_(data) {}

  absl::StatusOr<Str> Run() {
    vars_.emplace_back("$", root_);
    RETURN_IF_ERROR_X(Walk(root_, t_.root));
    return std::move(out_);
  }

 private:
  absl::Status Error(size_t pos, std::string_view context, std::string_view msg) const {
    return absl::InvalidArgumentError(Cat({"template: ", Location(t_, pos), ": executing \"",
                                           t_.name, "\" at <", context, ">: ", msg}));
  }
  absl::Status Step() {
    if (++steps_ > t_.limits.max_steps) {
      return absl::ResourceExhaustedError(Cat({"template: ", t_.name, ": execution stopped after ",
                                               std::to_string(t_.limits.max_steps), " steps"}));
    }
    return absl::OkStatus();
  }
  absl::Status Produce(size_t n) {
    produced_ += n;
    if (produced_ > t_.limits.max_produced_bytes) {
      return absl::ResourceExhaustedError(
          Cat({"template: ", t_.name, ": execution stopped: values exceed ",
               std::to_string(t_.limits.max_produced_bytes), " bytes"}));
    }
    return absl::OkStatus();
  }
  absl::Status Write(std::string_view s) {
    if (out_.size() + s.size() > t_.limits.max_output_bytes) {
      return absl::ResourceExhaustedError(
          Cat({"template: ", t_.name, ": output exceeds ",
               std::to_string(t_.limits.max_output_bytes), " bytes"}));
    }
    RETURN_IF_ERROR_X(Produce(s.size()));
    out_.append(s);
    return absl::OkStatus();
  }

  absl::Status Walk(const Value& dot, const Vec<Node>& list) {
    for (const Node& n : list) {
      RETURN_IF_ERROR_X(Step());
      switch (n.kind) {
        case Node::Kind::kText:
          RETURN_IF_ERROR_X(Write(n.text));
          break;
        case Node::Kind::kAction: {
          ASSIGN_OR_RETURN_X(Value v, EvalPipeline(dot, *n.pipe));
          if (n.pipe->decl.empty()) {
            if (v.is_nil()) {
              RETURN_IF_ERROR_X(Write("<no value>"));
            } else {
              Str s;
              AppendPrinted(v, &s);
              RETURN_IF_ERROR_X(Write(s));
            }
          }
          break;
        }
        case Node::Kind::kIf:
        case Node::Kind::kWith: {
          const size_t mark = vars_.size();
          ASSIGN_OR_RETURN_X(Value v, EvalPipeline(dot, *n.pipe));
          if (v.Truthy()) {
            RETURN_IF_ERROR_X(Walk(n.kind == Node::Kind::kWith ? v : dot, n.list));
          } else if (n.has_else) {
            RETURN_IF_ERROR_X(Walk(dot, n.else_list));
          }
          vars_.resize(mark);
          break;
        }
        case Node::Kind::kRange:
          RETURN_IF_ERROR_X(Range(dot, n));
          break;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Range(const Value& dot, const Node& n) {
    const size_t mark = vars_.size();
    ASSIGN_OR_RETURN_X(Value v, EvalPipeline(dot, *n.pipe));
    const Pipe& p = *n.pipe;
    auto one = [&](const Value& index, const Value& elem) -> absl::Status {
      RETURN_IF_ERROR_X(Step());
      if (p.is_assign) {
        if (p.decl.size() > 1) {
          SetVar(p.decl[0], index);
          SetVar(p.decl[1], elem);
        } else if (!p.decl.empty()) {
          SetVar(p.decl[0], elem);
        }
      } else if (!p.decl.empty()) {
        vars_.back().second = elem;
        if (p.decl.size() > 1) vars_[vars_.size() - 2].second = index;
      }
      const size_t inner = vars_.size();
      RETURN_IF_ERROR_X(Walk(elem, n.list));
      vars_.resize(inner);
      return absl::OkStatus();
    };
    bool any = false;
    switch (v.kind()) {
      case Value::Kind::kList:
        for (size_t i = 0; i < v.list().size(); ++i) {
          any = true;
          RETURN_IF_ERROR_X(one(Value::Int(static_cast<int64_t>(i)), v.list()[i]));
        }
        break;
      case Value::Kind::kMap:
        for (const auto& [k, e] : v.map()) {
          any = true;
          RETURN_IF_ERROR_X(one(Value::String(k), e));
        }
        break;
      case Value::Kind::kNil:
        break;
      default:
        // Go prints the value here; its type is enough (the value may be a secret).
        return Error(n.pos, "range",
                     Cat({"range can't iterate over value of type ", v.TypeName()}));
    }
    if (!any && n.has_else) RETURN_IF_ERROR_X(Walk(dot, n.else_list));
    vars_.resize(mark);
    return absl::OkStatus();
  }

  void SetVar(const Str& name, const Value& v) {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) {
        vars_[i].second = v;
        return;
      }
    }
  }
  const Value& Var(const Str& name) const {
    for (size_t i = vars_.size(); i-- > 0;) {
      if (vars_[i].first == name) return vars_[i].second;
    }
    return root_;  // the parser admits only declared variables
  }

  absl::StatusOr<Value> EvalPipeline(const Value& dot, const Pipe& p) {
    Value v;
    bool have = false;
    for (const Command& c : p.cmds) {
      ASSIGN_OR_RETURN_X(v, EvalCommand(dot, c, have ? &v : nullptr));
      have = true;
    }
    for (const Str& d : p.decl) {
      if (p.is_assign) {
        SetVar(d, v);
      } else {
        vars_.emplace_back(d, v);
      }
    }
    return v;
  }

  absl::Status NotAFunction(const Command& c, const Value* final) const {
    if (c.args.size() > 1 || final != nullptr) {
      return Error(c.args[0].pos, c.args[0].text,
                   Cat({"can't give argument to non-function ", c.args[0].text}));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Value> EvalCommand(const Value& dot, const Command& c, const Value* final) {
    RETURN_IF_ERROR_X(Step());
    const Arg& first = c.args[0];
    const bool has_args = c.args.size() > 1 || final != nullptr;
    switch (first.kind) {
      case Arg::Kind::kField:
        return FieldChain(dot, first, first.fields, has_args);
      case Arg::Kind::kVariable:
      case Arg::Kind::kPipe: {
        if (first.fields.empty()) RETURN_IF_ERROR_X(NotAFunction(c, final));
        Value v;
        if (first.kind == Arg::Kind::kVariable) {
          v = Var(first.name);
        } else {
          ASSIGN_OR_RETURN_X(v, EvalPipeline(dot, *first.pipe));
        }
        if (first.fields.empty()) return v;
        return FieldChain(v, first, first.fields, has_args);
      }
      case Arg::Kind::kFunc:
        return EvalFunction(dot, first, &c, final);
      case Arg::Kind::kConst:
        RETURN_IF_ERROR_X(NotAFunction(c, final));
        return first.constant;
      case Arg::Kind::kDot:
        RETURN_IF_ERROR_X(NotAFunction(c, final));
        return dot;
      case Arg::Kind::kNil:
        return Error(first.pos, first.text, "nil is not a command");
    }
    return Value();
  }

  // Evaluates `fields` on `receiver`; the last field "has arguments" when has_args.
  absl::StatusOr<Value> FieldChain(Value receiver, const Arg& at, const Vec<Str>& fields,
                                   bool has_args) {
    for (size_t i = 0; i < fields.size(); ++i) {
      const Str& name = fields[i];
      const bool args_here = has_args && i + 1 == fields.size();
      switch (receiver.kind()) {
        case Value::Kind::kNil:
          return Error(at.pos, at.text, Cat({"nil data; no entry for key \"", name, "\""}));
        case Value::Kind::kStruct: {
          const Value* found = nullptr;
          for (const auto& [k, v] : receiver.st().fields) {
            if (k == name) found = &v;
          }
          if (found == nullptr) {
            return Error(at.pos, at.text,
                         Cat({"can't evaluate field ", name, " in type ", receiver.TypeName()}));
          }
          if (args_here) {
            return Error(at.pos, at.text,
                         Cat({name, " has arguments but cannot be invoked as function"}));
          }
          Value next = *found;
          receiver = std::move(next);
          break;
        }
        case Value::Kind::kMap: {
          if (args_here) {
            return Error(at.pos, at.text, Cat({name, " is not a method but has arguments"}));
          }
          auto it = receiver.map().find(std::string_view(name));
          if (it == receiver.map().end()) {
            return Error(at.pos, at.text, Cat({"map has no entry for key \"", name, "\""}));
          }
          Value next = it->second;
          receiver = std::move(next);
          break;
        }
        default:
          return Error(at.pos, at.text,
                       Cat({"can't evaluate field ", name, " in type ", receiver.TypeName()}));
      }
    }
    return receiver;
  }

  // An operand used as an argument. want_string: the parameter is a string (Go's
  // validateType / evalString messages).
  absl::StatusOr<Value> EvalArg(const Value& dot, const Arg& a, bool want_string) {
    RETURN_IF_ERROR_X(Step());
    Value v;
    switch (a.kind) {
      case Arg::Kind::kField: {
        ASSIGN_OR_RETURN_X(v, FieldChain(dot, a, a.fields, false));
        break;
      }
      case Arg::Kind::kVariable:
      case Arg::Kind::kPipe: {
        if (a.kind == Arg::Kind::kVariable) {
          v = Var(a.name);
        } else {
          ASSIGN_OR_RETURN_X(v, EvalPipeline(dot, *a.pipe));
        }
        if (!a.fields.empty()) {
          ASSIGN_OR_RETURN_X(v, FieldChain(v, a, a.fields, false));
        }
        break;
      }
      case Arg::Kind::kFunc: {
        ASSIGN_OR_RETURN_X(v, EvalFunction(dot, a, nullptr, nullptr));
        break;
      }
      case Arg::Kind::kDot:
        v = dot;
        break;
      case Arg::Kind::kNil:
        if (want_string) return Error(a.pos, a.text, "cannot assign nil to string");
        return Value();
      case Arg::Kind::kConst:
        if (want_string && a.constant.kind() != Value::Kind::kString) {
          return Error(a.pos, a.text, Cat({"expected string; found ", a.text}));
        }
        return a.constant;
    }
    if (want_string) RETURN_IF_ERROR_X(CheckString(v, a.pos, a.text));
    return v;
  }

  absl::Status CheckString(const Value& v, size_t pos, std::string_view text) const {
    if (v.is_nil()) return Error(pos, text, "invalid value; expected string");
    if (v.kind() != Value::Kind::kString) {
      return Error(pos, text, Cat({"wrong type for value; expected string; got ", v.TypeName()}));
    }
    return absl::OkStatus();
  }

  // Calls the function `ident` names; cmd (null for a bare identifier argument) supplies
  // its arguments, final the previous pipeline stage's value.
  absl::StatusOr<Value> EvalFunction(const Value& dot, const Arg& ident, const Command* cmd,
                                     const Value* final) {
    auto user = t_.funcs.find(std::string_view(ident.name));
    const Function* fn = user != t_.funcs.end() ? &user->second : Builtin(ident.name);
    const bool builtin = user == t_.funcs.end();
    const size_t nargs = cmd != nullptr ? cmd->args.size() - 1 : 0;
    const size_t num_in = nargs + (final != nullptr ? 1 : 0);
    const size_t fixed = static_cast<size_t>(fn->fixed);
    if (fn->variadic && num_in + 1 < fixed) {
      return Error(ident.pos, ident.name,
                   Cat({"wrong number of args for ", ident.name, ": want at least ",
                        std::to_string(fixed - 1), " got ", std::to_string(num_in)}));
    }
    if (!fn->variadic && num_in != fixed) {
      return Error(ident.pos, ident.name,
                   Cat({"wrong number of args for ", ident.name, ": want ", std::to_string(fixed),
                        " got ", std::to_string(num_in)}));
    }
    const bool want_string = fn->params == Function::Params::kString;
    if (builtin && (ident.name == "and" || ident.name == "or")) {
      // Short-circuit: the first operand that decides is the result.
      const bool is_or = ident.name == "or";
      Value v;
      for (size_t i = 0; i < num_in; ++i) {
        if (i < nargs) {
          ASSIGN_OR_RETURN_X(v, EvalArg(dot, cmd->args[i + 1], false));
        } else {
          v = *final;
        }
        if (v.Truthy() == is_or) return v;
      }
      return v;
    }
    Vec<Value> argv;
    for (size_t i = 0; i < nargs; ++i) {
      ASSIGN_OR_RETURN_X(Value v, EvalArg(dot, cmd->args[i + 1], want_string));
      argv.push_back(std::move(v));
    }
    if (final != nullptr) {
      if (want_string) {
        RETURN_IF_ERROR_X(CheckString(*final, cmd->pos, cmd->String()));
      }
      argv.push_back(*final);
    }
    absl::StatusOr<Value> r = fn->fn(argv);
    const size_t pos = cmd != nullptr ? cmd->pos : ident.pos;
    const Str context = cmd != nullptr ? cmd->String() : ident.name;
    if (!r.ok()) {
      if (absl::IsResourceExhausted(r.status())) return r.status();
      return Error(pos, context,
                   Cat({"error calling ", ident.name, ": ", std::string(r.status().message())}));
    }
    if (r->kind() == Value::Kind::kString) {
      if (r->s().size() > t_.limits.max_output_bytes) {
        return absl::ResourceExhaustedError(
            Cat({"template: ", t_.name, ": a value exceeds ",
                 std::to_string(t_.limits.max_output_bytes), " bytes"}));
      }
      RETURN_IF_ERROR_X(Produce(r->s().size()));
    }
    return r;
  }

  const Tree& t_;
  const Value& root_;
  Vec<std::pair<Str, Value>> vars_;
  Str out_;
  uint64_t steps_ = 0;
  size_t produced_ = 0;
};

}  // namespace

Str Command::String() const {
  Str s;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) s.push_back(' ');
    s.append(args[i].text);
  }
  return s;
}

Str Location(const Tree& t, size_t pos) {
  std::string_view text = std::string_view(t.source).substr(0, pos);
  const size_t nl = text.rfind('\n');
  size_t col = pos;
  size_t line = 1;
  for (char c : text) {
    if (c == '\n') ++line;
  }
  if (nl != std::string_view::npos) col = pos - (nl + 1);
  return Str(Cat({t.name, ":", std::to_string(line), ":", std::to_string(col)}));
}

}  // namespace internal

absl::StatusOr<Template> Template::Parse(std::string_view name, std::string_view text,
                                         FuncMap funcs, const Limits& limits) {
  auto tree = std::make_shared<internal::Tree>();
  tree->name = Str(name);
  tree->source = Str(text);
  tree->funcs = std::move(funcs);
  tree->limits = limits;
  absl::Status st = internal::ParseTree(tree.get());
  if (!st.ok()) return st;
  Template t;
  t.tree_ = std::move(tree);
  return t;
}

absl::StatusOr<Str> Template::Execute(const Value& data) const {
  return internal::Exec(*tree_, data).Run();
}

}  // namespace capsule::tmpl
