// The parsed form of a template (internal to src/template): Go's parse tree reduced to the
// supported subset. Positions are byte offsets into the source, as Go's parse.Pos.
#pragma once

#include <cstddef>
#include <memory>

#include "template/template.h"
#include "template/value.h"

namespace capsule::tmpl::internal {

struct Pipe;

// One operand of a command.
struct Arg {
  enum class Kind { kField, kVariable, kDot, kFunc, kConst, kNil, kPipe };
  Kind kind = Kind::kConst;
  size_t pos = 0;
  Str text;         // as written (for error context)
  Str name;         // kVariable: "$x"; kFunc: the function's name
  Vec<Str> fields;  // kField: the chain; kVariable/kPipe: the chain after it
  Value constant;   // kConst
  std::unique_ptr<Pipe> pipe;
};

struct Command {
  size_t pos = 0;
  Vec<Arg> args;
  Str String() const;  // Go's CommandNode.String(): operands joined by spaces
};

struct Pipe {
  size_t pos = 0;
  bool is_assign = false;  // "=" rather than ":="
  Vec<Str> decl;           // "$x" names
  Vec<Command> cmds;
};

struct Node {
  enum class Kind { kText, kAction, kIf, kRange, kWith };
  Kind kind = Kind::kText;
  size_t pos = 0;
  Str text;                    // kText
  std::unique_ptr<Pipe> pipe;  // all but kText
  Vec<Node> list;              // kIf/kRange/kWith
  Vec<Node> else_list;
  bool has_else = false;
};

struct Tree {
  Str name;
  Str source;
  Vec<Node> root;
  FuncMap funcs;
  Limits limits;
};

// Go's builtin functions (builtins.cc); nullptr for an unknown name.
const Function* Builtin(std::string_view name);
bool IsBuiltin(std::string_view name);

// Lexes and parses tree->source into tree->root (tree's name, funcs and limits set).
absl::Status ParseTree(Tree* tree);

// "name:line:col" for a position, as Go's ErrorContext computes it (col = byte offset in the
// line, counted from 0).
Str Location(const Tree& t, size_t pos);

}  // namespace capsule::tmpl::internal
