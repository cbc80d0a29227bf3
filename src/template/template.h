// A small engine for the subset of Go's text/template that Docker swarm templates use
// (swarmkit's template package parses with Option("missingkey=error")). No dependency on
// the daemon: values in, text out.
//
// Supported (Go's syntax and meaning):
//   - text and {{ }} actions; trim markers "{{- " and " -}}" (the dash needs the space, as in
//     Go: "{{-3}}" is the number -3); comments {{/* … */}} (with trim markers too).
//   - operands: . (dot), field chains .A.B (on structs and maps, also after a variable or a
//     parenthesized pipeline: $x.A, (…).A), variables $ and $x, string "…" (Go escapes) and
//     raw `…` literals, numbers (decimal, 0x hex, floats, 'c' characters), true, false, nil.
//   - pipelines a | b c (the previous value becomes the last argument), function calls with
//     arguments, parenthesized pipelines, declarations {{$x := …}} and assignments {{$x = …}}.
//   - {{if}} / {{else if}} / {{else}} / {{end}}, {{with}} / {{else}}, {{range}} over lists and
//     maps (keys in sorted order), with {{else}} and with "$v :=" or "$i, $v :=".
//   - builtins: and or not (and/or short-circuit and return an operand, as Go ≥ 1.18),
//     eq ne lt le gt ge, len, index, print, printf (verbs %v %s %d %q %x %X %t %f %c %%,
//     flags "-" "0" and a width; Go's %!v(…) forms for mismatches), println; plus the
//     functions the caller passes in a FuncMap (swarm's join, env, secret, config).
//   - a missing map key is an error ("map has no entry for key …", missingkey=error); an
//     unknown struct field is an error ("can't evaluate field …").
// Not supported (a parse error here, where Go would accept them): define, template, block,
// break, continue, "else with", range over integers, html, js, urlquery, slice, call, methods.
//
// Errors read like Go's: parse errors "template: <name>:<line>: <message>", execution errors
// "template: <name>:<line>:<col>: executing \"<name>\" at <<node>>: <message>". They quote
// template text (actions), never the values the template reads.
//
// Bounded: the template's size, its nesting depth, the number of evaluation steps, the
// output size and the total bytes that functions produce are all capped (Limits), so a hostile
// template cannot exhaust memory or time. Every string the engine holds is wiped when freed
// (value.h): templates are secret payloads. A parsed Template is immutable; Execute may run
// concurrently only if the FuncMap's functions allow it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "template/value.h"

namespace capsule::tmpl {

struct Limits {
  size_t max_template_bytes = size_t{1} << 20;  // a config's 1000 KiB limit fits
  size_t max_output_bytes = size_t{4} << 20;
  size_t max_produced_bytes = size_t{32} << 20;  // function results + output, cumulative
  uint64_t max_steps = 1000000;                  // commands, iterations, nodes walked
  int max_depth = 100;                           // nesting of controls and parentheses
};

// A function callable from templates. Its arguments are checked before fn runs: `fixed`
// parameters (or at least fixed-1 plus any number more when `variadic`), each a string when
// params == kString. An error from fn is reported as Go's "error calling <name>: <message>".
struct Function {
  enum class Params { kAny, kString };
  Params params = Params::kAny;
  int fixed = 1;
  bool variadic = false;
  std::function<absl::StatusOr<Value>(const Vec<Value>& args)> fn;
};
using FuncMap = std::map<std::string, Function, std::less<>>;

namespace internal {
struct Tree;
}

class Template {
 public:
  // Parses `text`. Function names the template uses must be builtins or in `funcs` (Go checks
  // this at parse time too); `funcs` is kept and called by Execute. InvalidArgument with Go's
  // parse message on any error.
  static absl::StatusOr<Template> Parse(std::string_view name, std::string_view text, FuncMap funcs,
                                        const Limits& limits = {});

  // Runs the template with `data` as dot (and $). InvalidArgument with Go's execution message,
  // ResourceExhausted when a limit is hit.
  absl::StatusOr<Str> Execute(const Value& data) const;

 private:
  std::shared_ptr<const internal::Tree> tree_;
};

}  // namespace capsule::tmpl
