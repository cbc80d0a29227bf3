// The template lexer (internal to src/template): Go's text/template lexer for the supported
// subset. Turns the source into tokens; text between actions is already trimmed where a trim
// marker asks for it, and comments are dropped.
#pragma once

#include <cstddef>
#include <string_view>

#include "absl/status/statusor.h"
#include "template/value.h"

namespace capsule::tmpl::internal {

struct Token {
  enum class Type {
    kText,
    kLeft,   // {{
    kRight,  // }}
    kSpace,
    kIdent,
    kKeyword,  // if else end range with define template block break continue
    kField,    // .Name (val = "Name")
    kDot,
    kVariable,  // $ or $name (val includes the '$')
    kDeclare,   // :=
    kAssign,    // =
    kPipe,      // |
    kLParen,
    kRParen,
    kComma,
    kString,  // val = the quoted text as written
    kRawString,
    kChar,
    kNumber,
    kBool,
    kNil,
    kEOF,
  };
  Type type = Type::kEOF;
  size_t pos = 0;
  int line = 1;
  Str val;
};

// Lexes `src`. InvalidArgument "template: <name>:<line>: <message>" on a lexical error.
absl::StatusOr<Vec<Token>> Lex(std::string_view name, std::string_view src);

}  // namespace capsule::tmpl::internal
