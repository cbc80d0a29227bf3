#include "template/template.h"

#include <gtest/gtest.h>

#include <string>

namespace capsule::tmpl {
namespace {

Value Data() {
  Map labels;
  labels.emplace("a", Value::String("1"));
  labels.emplace("b", Value::String("2"));
  List list{Value::String("x"), Value::String("y"), Value::String("z")};
  Struct inner{"struct { ID string; Name string }",
               {{"ID", Value::String("sid")}, {"Name", Value::String("web")}}};
  Struct root{"*template.Context",
              {{"Service", Value::FromStruct(std::move(inner))},
               {"Labels", Value::FromMap(std::move(labels))},
               {"Empty", Value::FromMap({})},
               {"List", Value::FromList(std::move(list))},
               {"Str", Value::String("hello")},
               {"None", Value::String("")}}};
  return Value::FromStruct(std::move(root));
}

FuncMap TestFuncs() {
  FuncMap f;
  Function fail;
  fail.params = Function::Params::kString;
  fail.fixed = 1;
  fail.fn = [](const Vec<Value>& a) -> absl::StatusOr<Value> {
    return absl::NotFoundError(std::string("no ") + std::string(a[0].s()));
  };
  f["fail"] = fail;
  Function up;
  up.params = Function::Params::kString;
  up.fixed = 1;
  up.fn = [](const Vec<Value>& a) -> absl::StatusOr<Value> {
    Str s = a[0].s();
    for (char& c : s) c = static_cast<char>(toupper(c));
    return Value::String(std::move(s));
  };
  f["up"] = up;
  return f;
}

absl::StatusOr<std::string> Render(std::string_view text, const Limits& limits = {}) {
  absl::StatusOr<Template> t = Template::Parse("expansion", text, TestFuncs(), limits);
  if (!t.ok()) return t.status();
  absl::StatusOr<Str> out = t->Execute(Data());
  if (!out.ok()) return out.status();
  return std::string(*out);
}

std::string Ok(std::string_view text) {
  absl::StatusOr<std::string> r = Render(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status();
  return r.ok() ? *r : "<error>";
}

std::string Err(std::string_view text, const Limits& limits = {}) {
  absl::StatusOr<std::string> r = Render(text, limits);
  EXPECT_FALSE(r.ok()) << text << " rendered " << (r.ok() ? *r : "");
  return r.ok() ? "<ok>" : std::string(r.status().message());
}

TEST(TemplateText, PlainTextPassesThrough) {
  EXPECT_EQ(Ok(""), "");
  EXPECT_EQ(Ok("no actions here { } }}"), "no actions here { } }}");
}

TEST(TemplateText, TrimMarkersRemoveAdjacentSpace) {
  EXPECT_EQ(Ok("a  \n {{- .Str -}} \n  b"), "ahellob");
  EXPECT_EQ(Ok("a {{- .Str }} b"), "ahello b");
  EXPECT_EQ(Ok("a {{ .Str -}} b"), "a hellob");
  EXPECT_EQ(Ok("{{-3}}"), "-3");  // no space after the dash: a number
}

TEST(TemplateText, CommentsAreDropped) {
  EXPECT_EQ(Ok("a{{/* note */}}b"), "ab");
  EXPECT_EQ(Ok("a {{- /* note */ -}} b"), "ab");
  EXPECT_EQ(Ok("a{{/* multi\nline */}}b"), "ab");
}

TEST(TemplateFields, ChainsOnStructsAndMaps) {
  EXPECT_EQ(Ok("{{.Service.Name}}-{{.Service.ID}}"), "web-sid");
  EXPECT_EQ(Ok("{{.Labels.a}}{{ .Labels.b }}"), "12");
  EXPECT_EQ(Ok("{{.Labels}}"), "map[a:1 b:2]");
  EXPECT_EQ(Ok("{{.List}}"), "[x y z]");
  EXPECT_EQ(Ok("{{.Service}}"), "{sid web}");
}

TEST(TemplateFields, MissingMapKeyIsAnError) {
  EXPECT_EQ(Err("{{.Labels.zz}}"),
            "template: expansion:1:2: executing \"expansion\" at <.Labels.zz>: map has no "
            "entry for key \"zz\"");
}

TEST(TemplateFields, UnknownStructFieldIsAnError) {
  EXPECT_EQ(Err("ab{{.Service.Nope}}"),
            "template: expansion:1:4: executing \"expansion\" at <.Service.Nope>: can't "
            "evaluate field Nope in type struct { ID string; Name string }");
  EXPECT_EQ(Err("{{.Nope}}"),
            "template: expansion:1:2: executing \"expansion\" at <.Nope>: can't evaluate field "
            "Nope in type *template.Context");
  EXPECT_EQ(Err("{{.Str.Len}}"),
            "template: expansion:1:2: executing \"expansion\" at <.Str.Len>: can't evaluate "
            "field Len in type string");
}

TEST(TemplateFields, ErrorPositionCountsLinesAndColumns) {
  EXPECT_EQ(Err("line one\n  {{.Nope}}"),
            "template: expansion:2:4: executing \"expansion\" at <.Nope>: can't evaluate field "
            "Nope in type *template.Context");
}

TEST(TemplateFields, FieldWithArgumentsIsAnError) {
  EXPECT_EQ(Err("{{.Service.Name 1}}"),
            "template: expansion:1:2: executing \"expansion\" at <.Service.Name>: Name has "
            "arguments but cannot be invoked as function");
  EXPECT_EQ(Err("{{\"x\" | .Labels.a}}"),
            "template: expansion:1:8: executing \"expansion\" at <.Labels.a>: a is not a "
            "method but has arguments");
}

TEST(TemplateLiterals, StringsNumbersBoolsAndNil) {
  EXPECT_EQ(Ok(R"({{"a\tb\x41\u00e9"}})"), "a\tbA\xC3\xA9");
  EXPECT_EQ(Ok("{{`raw\\n`}}"), "raw\\n");
  EXPECT_EQ(Ok("{{42}} {{-7}} {{0x1F}} {{1_000}} {{1.5}} {{1e3}} {{'a'}}"),
            "42 -7 31 1000 1.5 1000 97");
  EXPECT_EQ(Ok("{{true}} {{false}}"), "true false");
  EXPECT_EQ(Err("{{nil}}"),
            "template: expansion:1:2: executing \"expansion\" at <nil>: nil is not a command");
}

TEST(TemplateLiterals, ConstantsTakeNoArguments) {
  EXPECT_EQ(Err("{{1 2}}"),
            "template: expansion:1:2: executing \"expansion\" at <1>: can't give argument to "
            "non-function 1");
}

TEST(TemplatePipelines, PreviousValueIsTheLastArgument) {
  EXPECT_EQ(Ok("{{.Str | up}}"), "HELLO");
  EXPECT_EQ(Ok("{{\"a\" | printf \"%s-%s\" \"b\"}}"), "b-a");
  EXPECT_EQ(Ok("{{(up .Str) | len}}"), "5");
  EXPECT_EQ(Ok("{{(.Service).Name}}"), "web");
}

TEST(TemplatePipelines, ConstantAfterPipeIsAParseError) {
  EXPECT_EQ(Err("{{.Str | 1}}"),
            "template: expansion:1: non executable command in pipeline stage 2");
}

TEST(TemplateVariables, DeclareAssignAndRoot) {
  EXPECT_EQ(Ok("{{$x := .Str}}{{$x}}"), "hello");
  EXPECT_EQ(Ok("{{$x := 1}}{{$x = 2}}{{$x}}"), "2");
  EXPECT_EQ(Ok("{{with .Service}}{{$.Str}} {{.Name}}{{end}}"), "hello web");
  EXPECT_EQ(Ok("{{$s := .Service}}{{$s.Name}}"), "web");
}

TEST(TemplateVariables, ScopeEndsWithTheControl) {
  EXPECT_EQ(Err("{{if true}}{{$x := 1}}{{end}}{{$x}}"),
            "template: expansion:1: undefined variable \"$x\"");
  EXPECT_EQ(Err("{{$y = 1}}"), "template: expansion:1: undefined variable \"$y\"");
}

TEST(TemplateControl, IfElseIfElse) {
  EXPECT_EQ(Ok("{{if .Str}}yes{{else}}no{{end}}"), "yes");
  EXPECT_EQ(Ok("{{if .None}}yes{{else}}no{{end}}"), "no");
  EXPECT_EQ(Ok("{{if .None}}a{{else if .Empty}}b{{else if .List}}c{{else}}d{{end}}"), "c");
  EXPECT_EQ(Ok("{{if 0}}a{{else if false}}b{{end}}"), "");
}

TEST(TemplateControl, WithSetsDot) {
  EXPECT_EQ(Ok("{{with .Service}}{{.Name}}{{end}}"), "web");
  EXPECT_EQ(Ok("{{with .None}}x{{else}}empty{{end}}"), "empty");
  EXPECT_EQ(Ok("{{with $v := .Str}}{{$v}}{{end}}"), "hello");
}

TEST(TemplateControl, RangeOverListsAndMaps) {
  EXPECT_EQ(Ok("{{range .List}}<{{.}}>{{end}}"), "<x><y><z>");
  EXPECT_EQ(Ok("{{range $i, $v := .List}}{{$i}}={{$v}} {{end}}"), "0=x 1=y 2=z ");
  EXPECT_EQ(Ok("{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}"), "a:1;b:2;");
  EXPECT_EQ(Ok("{{range $v := .Labels}}{{$v}}{{end}}"), "12");
  EXPECT_EQ(Ok("{{range .Empty}}x{{else}}none{{end}}"), "none");
}

TEST(TemplateControl, RangeOverAStringIsAnError) {
  EXPECT_EQ(Err("{{range .Str}}{{end}}"),
            "template: expansion:1:2: executing \"expansion\" at <range>: range can't iterate "
            "over value of type string");
}

TEST(TemplateControl, StructureErrors) {
  EXPECT_EQ(Err("{{end}}"), "template: expansion:1: unexpected {{end}}");
  EXPECT_EQ(Err("{{else}}"), "template: expansion:1: unexpected {{else}}");
  EXPECT_EQ(Err("{{if .Str}}x"), "template: expansion:1: unexpected EOF");
  EXPECT_EQ(Err("{{if}}{{end}}"), "template: expansion:1: missing value for if");
  EXPECT_EQ(Err("{{range $a, $b, $c := .List}}{{end}}"),
            "template: expansion:1: too many declarations in range");
  EXPECT_EQ(Err("{{define \"x\"}}{{end}}"), "template: expansion:1: {{define}} is not supported");
  EXPECT_EQ(Err("{{template \"x\"}}"), "template: expansion:1: {{template}} is not supported");
}

TEST(TemplateComparison, EqNeLtLeGtGe) {
  EXPECT_EQ(Ok("{{eq .Str \"hello\"}} {{eq 1 2 3 1}} {{ne 1 2}} {{eq .Str \"x\"}}"),
            "true true true false");
  EXPECT_EQ(Ok("{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2.5}}"), "true true true false");
}

TEST(TemplateComparison, MismatchedTypesAreErrors) {
  EXPECT_EQ(Err("{{eq .Str 1}}"),
            "template: expansion:1:2: executing \"expansion\" at <eq .Str 1>: error calling eq: "
            "incompatible types for comparison");
  EXPECT_EQ(Err("{{lt true false}}"),
            "template: expansion:1:2: executing \"expansion\" at <lt true false>: error calling "
            "lt: invalid type for comparison");
  EXPECT_EQ(Err("{{eq .List .List}}"),
            "template: expansion:1:2: executing \"expansion\" at <eq .List .List>: error calling "
            "eq: non-comparable type []string");
}

TEST(TemplateLogic, AndOrNotShortCircuit) {
  EXPECT_EQ(Ok("{{and 1 .Str}} {{and .None .Nope}} {{or .None \"d\"}} {{or .Str .Nope}}"),
            "hello  d hello");
  EXPECT_EQ(Ok("{{not .None}} {{not .Str}}"), "true false");
}

TEST(TemplateBuiltins, LenAndIndex) {
  EXPECT_EQ(Ok("{{len .Str}} {{len .List}} {{len .Labels}}"), "5 3 2");
  EXPECT_EQ(Ok("{{index .List 1}} {{index .Labels \"b\"}}[{{index .Labels \"zz\"}}]"), "y 2[]");
  EXPECT_EQ(Err("{{index .List 5}}"),
            "template: expansion:1:2: executing \"expansion\" at <index .List 5>: error calling "
            "index: index out of range: 5");
  EXPECT_EQ(Err("{{len 3}}"),
            "template: expansion:1:2: executing \"expansion\" at <len 3>: error calling len: len "
            "of type int");
}

TEST(TemplateBuiltins, PrintFamily) {
  EXPECT_EQ(Ok("{{print \"a\" 1 2 \"b\"}}"), "a1 2b");
  EXPECT_EQ(Ok("{{println \"a\" 1}}"), "a 1\n");
  EXPECT_EQ(Ok("{{printf \"%s=%d %v %q %x %5s|%-3d|%03d %t %.2f %%\" \"k\" 7 .List \"q\" 255 "
               "\"r\" 1 9 true 3.14159}}"),
            "k=7 [x y z] \"q\" ff     r|1  |009 true 3.14 %");
  EXPECT_EQ(Ok("{{printf \"%d %s\" \"x\"}}"), "%!d(string=x) %!s(MISSING)");
  EXPECT_EQ(Ok("{{printf \"a\" 1}}"), "a%!(EXTRA int=1)");
}

TEST(TemplateFunctions, CallsWithArgumentsAndErrors) {
  EXPECT_EQ(Ok("{{up \"ab\"}}"), "AB");
  EXPECT_EQ(Err("{{fail \"x\"}}"),
            "template: expansion:1:2: executing \"expansion\" at <fail \"x\">: error calling "
            "fail: no x");
  EXPECT_EQ(Err("{{nosuch 1}}"), "template: expansion:1: function \"nosuch\" not defined");
  EXPECT_EQ(Err("{{up}}"),
            "template: expansion:1:2: executing \"expansion\" at <up>: wrong number of args for "
            "up: want 1 got 0");
  EXPECT_EQ(Err("{{up 1}}"),
            "template: expansion:1:5: executing \"expansion\" at <1>: expected string; found 1");
  EXPECT_EQ(Err("{{up .List}}"),
            "template: expansion:1:5: executing \"expansion\" at <.List>: wrong type for value; "
            "expected string; got []string");
}

TEST(TemplateLexer, Errors) {
  EXPECT_EQ(Err("{{.Str"), "template: expansion:1: unclosed action");
  EXPECT_EQ(Err("a\n{{\"abc}}"), "template: expansion:2: unterminated quoted string");
  EXPECT_EQ(Err("{{/* x"), "template: expansion:1: unclosed comment");
  EXPECT_EQ(Err("{{/* x */ .Str}}"),
            "template: expansion:1: comment ends before closing delimiter");
  EXPECT_EQ(Err("{{@}}"), "template: expansion:1: unrecognized character in action: U+0040 '@'");
  EXPECT_EQ(Err("{{(.Str}}"), "template: expansion:1: unclosed left paren");
  EXPECT_EQ(Err("{{.Str)}}"), "template: expansion:1: unexpected right paren");
  EXPECT_EQ(Err("{{1x}}"), "template: expansion:1: bad number syntax: \"1x\"");
  EXPECT_EQ(Err("{{\"\\q\"}}"), "template: expansion:1: invalid syntax");
  EXPECT_EQ(Err("{{$x :}}"), "template: expansion:1: expected :=");
  EXPECT_EQ(Err("{{.Str if}}"), "template: expansion:1: unexpected <if> in operand");
  EXPECT_EQ(Err("{{1.Str}}"), "template: expansion:1: bad number syntax: \"1.Str\"");
  EXPECT_EQ(Err("{{\"a\".Str}}"), "template: expansion:1: unexpected . after term \"\\\"a\\\"\"");
}

TEST(TemplateLimits, TemplateSizeIsBounded) {
  Limits l;
  l.max_template_bytes = 10;
  EXPECT_EQ(Err("01234567890", l), "template: expansion: template exceeds 10 bytes");
}

TEST(TemplateLimits, NestingDepthIsBounded) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "(";
  deep = "{{" + deep + "1";
  for (int i = 0; i < 200; ++i) deep += ")";
  deep += "}}";
  EXPECT_EQ(Err(deep), "template: expansion:1: max expression depth exceeded");
  std::string ifs;
  for (int i = 0; i < 200; ++i) ifs += "{{if 1}}";
  EXPECT_EQ(Err(ifs), "template: expansion:1: max expression depth exceeded");
}

TEST(TemplateLimits, OutputIsBounded) {
  Limits l;
  l.max_output_bytes = 8;
  absl::StatusOr<std::string> r = Render("{{range .List}}abc{{end}}", l);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_EQ(std::string(r.status().message()), "template: expansion: output exceeds 8 bytes");
}

TEST(TemplateLimits, ExponentialGrowthStopsAtTheValueBudget) {
  std::string t = "{{$x := \"0123456789abcdef\"}}";
  for (int i = 0; i < 40; ++i) t += "{{$x = printf \"%s%s\" $x $x}}";
  absl::StatusOr<std::string> r = Render(t);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
}

TEST(TemplateLimits, NestedRangesStopAtTheStepLimit) {
  std::string t;
  for (int i = 0; i < 30; ++i) t += "{{range $.List}}";
  t += "x";
  for (int i = 0; i < 30; ++i) t += "{{end}}";
  Limits l;
  l.max_output_bytes = size_t{1} << 30;
  l.max_produced_bytes = size_t{1} << 30;
  l.max_steps = 10000;
  absl::StatusOr<std::string> r = Render(t, l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()),
            "template: expansion: execution stopped after 10000 steps");
}

TEST(TemplateLimits, HugePrintfWidthIsRefused) {
  EXPECT_EQ(Ok("{{printf \"%99999999d\" 1}}"), "%!(BADWIDTH)1");
  // Found by fuzzing: a width too large for an int overflowed while it was read.
  EXPECT_EQ(Ok("{{printf \"%12347777777777777777777d\" 1}}"), "%!(BADWIDTH)1");
}

}  // namespace
}  // namespace capsule::tmpl
