#include "dockerapi/http/go_json.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace capsule::http {
namespace {

using nlohmann::json;

struct ErrCase {
  std::string in;
  std::string msg;
};

TEST(GoJsonTest, DecoderSyntaxErrorsMatchGo) {
  const std::vector<ErrCase> cases = {
      // Oracle: docker 20.10 POST /secrets/create.
      {R"({"Name":)", "unexpected EOF"},
      {"{", "unexpected EOF"},
      {R"({"Name":"a")", "unexpected EOF"},
      {R"("abc)", "unexpected EOF"},
      {"nul", "unexpected EOF"},
      {"1.", "unexpected EOF"},
      {"-", "unexpected EOF"},
      {"x", "invalid character 'x' looking for beginning of value"},
      {R"({"a" x)", "invalid character 'x' after object key"},
      {R"({"a":1 x)", "invalid character 'x' after object key:value pair"},
      {"[1 x", "invalid character 'x' after array element"},
      {"{x", "invalid character 'x' looking for beginning of object key string"},
      {R"({"a":1,})", "invalid character '}' looking for beginning of object key string"},
      {"[1,]", "invalid character ']' looking for beginning of value"},
      {R"({"a":01})", "invalid character '1' after object key:value pair"},
      {"notjson", "invalid character 'o' in literal null (expecting 'u')"},
      {"nulx", "invalid character 'x' in literal null (expecting 'l')"},
      {"trUe", "invalid character 'U' in literal true (expecting 'u')"},
      {"tx", "invalid character 'x' in literal true (expecting 'r')"},
      {"fals0", "invalid character '0' in literal false (expecting 'e')"},
      {"fx", "invalid character 'x' in literal false (expecting 'a')"},
      {"-x", "invalid character 'x' in numeric literal"},
      {"1.x", "invalid character 'x' after decimal point in numeric literal"},
      {"1ex", "invalid character 'x' in exponent of numeric literal"},
      {"1e+]", "invalid character ']' in exponent of numeric literal"},
      {std::string("\"a\x01\""), "invalid character '\\x01' in string literal"},
      {"\"a\n\"", "invalid character '\\n' in string literal"},
      {"\"a\t\"", "invalid character '\\t' in string literal"},
      {R"("\x")", "invalid character 'x' in string escape code"},
      {R"("\u12g4")", "invalid character 'g' in \\u hexadecimal character escape"},
      {"'a'", "invalid character '\\'' looking for beginning of value"},
      {"{'a':1}", "invalid character '\\'' looking for beginning of object key string"},
      {R"({"a":"b""})", "invalid character '\"' after object key:value pair"},
      {"\\", "invalid character '\\\\' looking for beginning of value"},
      {"\x7f", "invalid character '\\x7f' looking for beginning of value"},
      {"\x80", "invalid character '\\u0080' looking for beginning of value"},
      {"\xc3", "invalid character '\xc3\x83' looking for beginning of value"},
      {"[" + std::string(10000, '['), "invalid character '[' exceeded max depth"},
  };
  for (const auto& c : cases) {
    auto got = DecodeGoJson(c.in);
    ASSERT_FALSE(got.ok()) << c.in;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.in;
    EXPECT_EQ(got.status().message(), c.msg) << c.in;
    EXPECT_FALSE(IsGoEof(got.status())) << c.in;
  }
}

TEST(GoJsonTest, EmptyBodyIsGoEof) {
  for (std::string in : {"", " ", "\r\n\t "}) {
    auto got = DecodeGoJson(in);
    ASSERT_FALSE(got.ok());
    EXPECT_TRUE(IsGoEof(got.status())) << "[" << in << "]";
  }
  EXPECT_FALSE(IsGoEof(absl::InvalidArgumentError("unexpected EOF")));
}

TEST(GoJsonTest, DecoderIgnoresTrailingData) {
  auto a = DecodeGoJson(R"( {"a":1}garbage)");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, json({{"a", 1}}));
  auto b = DecodeGoJson("12x");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, json(12));
  auto c = DecodeGoJson("[1,2]]");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, json({1, 2}));
  auto d = DecodeGoJson("true");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, json(true));
}

TEST(GoJsonTest, UnmarshalRequiresExactlyOneValue) {
  const std::vector<ErrCase> cases = {
      {"", "unexpected end of JSON input"},
      {"  ", "unexpected end of JSON input"},
      {R"({"a":)", "unexpected end of JSON input"},
      {"{}x", "invalid character 'x' after top-level value"},
      {"12x", "invalid character 'x' after top-level value"},
      {"{} {}", "invalid character '{' after top-level value"},
  };
  for (const auto& c : cases) {
    auto got = UnmarshalGoJson(c.in);
    ASSERT_FALSE(got.ok()) << c.in;
    EXPECT_EQ(got.status().message(), c.msg) << c.in;
  }
  auto ok = UnmarshalGoJson(" {\"a\":[1,{}]} \n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->dump(), R"({"a":[1,{}]})");
}

TEST(GoJsonTest, BuildsValues) {
  auto v = DecodeGoJson(
      R"({"s":"a\"b\\c\/\b\f\n\r\t","n":null,"t":true,"f":false,"a":[],"o":{},
          "nested":{"x":[1,[2,{"y":"z"}]]},"dup":1,"dup":2})");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)["s"], "a\"b\\c/\b\f\n\r\t");
  EXPECT_TRUE((*v)["n"].is_null());
  EXPECT_EQ((*v)["t"], true);
  EXPECT_EQ((*v)["f"], false);
  EXPECT_TRUE((*v)["a"].is_array() && (*v)["a"].empty());
  EXPECT_TRUE((*v)["o"].is_object() && (*v)["o"].empty());
  EXPECT_EQ((*v)["nested"]["x"][1][1]["y"], "z");
  EXPECT_EQ((*v)["dup"], 2);  // last wins, as in Go
}

TEST(GoJsonTest, NumbersKeepIntegersExact) {
  auto v = DecodeGoJson(
      "[9223372036854775807,-9223372036854775808,18446744073709551615,"
      "18446744073709551616,1.5,1e2,-0,0]");
  ASSERT_TRUE(v.ok()) << v.status();
  const json& a = *v;
  EXPECT_TRUE(a[0].is_number_integer() && !a[0].is_number_unsigned());
  EXPECT_EQ(a[0].get<int64_t>(), INT64_MAX);
  EXPECT_EQ(a[1].get<int64_t>(), INT64_MIN);
  EXPECT_TRUE(a[2].is_number_unsigned());
  EXPECT_EQ(a[2].get<uint64_t>(), UINT64_MAX);
  EXPECT_TRUE(a[3].is_number_float());
  EXPECT_TRUE(a[4].is_number_float());
  EXPECT_EQ(a[4].get<double>(), 1.5);
  EXPECT_TRUE(a[5].is_number_float());
  EXPECT_EQ(a[5].get<double>(), 100.0);
  EXPECT_TRUE(a[6].is_number_integer());
  EXPECT_EQ(a[7].get<int64_t>(), 0);
}

TEST(GoJsonTest, StringsDecodeLikeGo) {
  struct Case {
    std::string in, want;
  };
  const std::string fffd = "\xEF\xBF\xBD";
  const std::vector<Case> cases = {
      {R"("\u00e9")", "\xC3\xA9"},
      {R"("\ud83d\ude00")", "\xF0\x9F\x98\x80"},
      {R"("\ud83d")", fffd},
      {R"("\ud83dx")", fffd + "x"},
      {R"("\ude00\ud83d\ude00")", fffd + "\xF0\x9F\x98\x80"},
      {R"("\ud83d\u0041")", fffd + "A"},
      {"\"a\xff"
       "b\"",
       "a" + fffd + "b"},
      {"\"\xed\xa0\x80\"", fffd + fffd + fffd},  // UTF-8-encoded surrogate
      {"\"\xc3\"", fffd},
      {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"},
      {"\"\xc0\xaf\"", fffd + fffd},  // overlong
  };
  for (const auto& c : cases) {
    auto got = DecodeGoJson(c.in);
    ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
    EXPECT_EQ(got->get<std::string>(), c.want) << c.in;
  }
}

TEST(GoJsonTest, DeepNestingNeitherCrashesNorRecurses) {
  // Exactly at the limit: accepted.
  auto ok = DecodeGoJson(std::string(10000, '[') + std::string(10000, ']'));
  ASSERT_TRUE(ok.ok()) << ok.status();
  // 100,000 levels: Go's max-depth error, no stack overflow.
  for (const std::string& open : {std::string("["), std::string(R"({"a":)")}) {
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += open;
    auto got = DecodeGoJson(deep);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().message(),
              "invalid character " + GoQuoteChar(open[0]) + " exceeded max depth");
    EXPECT_FALSE(UnmarshalGoJson(deep).ok());
  }
}

TEST(GoJsonTest, QuoteCharLikeStrconv) {
  EXPECT_EQ(GoQuoteChar('x'), "'x'");
  EXPECT_EQ(GoQuoteChar('\''), "'\\''");
  EXPECT_EQ(GoQuoteChar('"'), "'\"'");
  EXPECT_EQ(GoQuoteChar('\\'), "'\\\\'");
  EXPECT_EQ(GoQuoteChar('\n'), "'\\n'");
  EXPECT_EQ(GoQuoteChar('\a'), "'\\a'");
  EXPECT_EQ(GoQuoteChar('\v'), "'\\v'");
  EXPECT_EQ(GoQuoteChar(0x01), "'\\x01'");
  EXPECT_EQ(GoQuoteChar(0x1f), "'\\x1f'");
  EXPECT_EQ(GoQuoteChar(0xa0), "'\\u00a0'");
  EXPECT_EQ(GoQuoteChar(0xad), "'\\u00ad'");
  EXPECT_EQ(GoQuoteChar(0xff), "'\xC3\xBF'");
}

// Docker's swarm.SecretSpec and a slice of swarm.ServiceSpec.
std::shared_ptr<const GoSchema> DriverSchema() {
  auto s = std::make_shared<GoSchema>();
  s->name = "Driver";
  s->go_type = "swarm.Driver";
  s->fields = {{"Name", GoKind::kString, nullptr, ""},
               {"Options", GoKind::kStringMap, nullptr, ""}};
  return s;
}

GoSchema SecretSpecSchema() {
  GoSchema s;
  s.name = "SecretSpec";
  s.go_type = "swarm.SecretSpec";
  s.fields = {{"Name", GoKind::kString, nullptr, ""},
              {"Labels", GoKind::kStringMap, nullptr, ""},
              {"Data", GoKind::kBytes, nullptr, ""},
              {"Driver", GoKind::kStruct, DriverSchema(), ""},
              {"Templating", GoKind::kStruct, DriverSchema(), ""}};
  return s;
}

GoSchema ServiceSpecSchema() {
  auto file = std::make_shared<GoSchema>();
  file->name = "SecretReferenceFileTarget";
  file->go_type = "swarm.SecretReferenceFileTarget";
  file->fields = {{"Name", GoKind::kString, nullptr, ""},
                  {"UID", GoKind::kString, nullptr, ""},
                  {"GID", GoKind::kString, nullptr, ""},
                  {"Mode", GoKind::kUint32, nullptr, "fs.FileMode"}};
  auto ref = std::make_shared<GoSchema>();
  ref->name = "SecretReference";
  ref->go_type = "swarm.SecretReference";
  ref->fields = {{"File", GoKind::kStruct, file, ""},
                 {"SecretID", GoKind::kString, nullptr, ""},
                 {"SecretName", GoKind::kString, nullptr, ""}};
  auto container = std::make_shared<GoSchema>();
  container->name = "ContainerSpec";
  container->go_type = "swarm.ContainerSpec";
  container->fields = {{"Image", GoKind::kString, nullptr, ""},
                       {"Args", GoKind::kStringSlice, nullptr, ""},
                       {"StopGracePeriod", GoKind::kInt64, nullptr, "time.Duration"},
                       {"Secrets", GoKind::kStructSlice, ref, "[]*swarm.SecretReference"}};
  auto task = std::make_shared<GoSchema>();
  task->name = "TaskSpec";
  task->go_type = "swarm.TaskSpec";
  task->fields = {{"ContainerSpec", GoKind::kStruct, container, ""},
                  {"ForceUpdate", GoKind::kUint64, nullptr, ""}};
  GoSchema s;
  s.name = "ServiceSpec";
  s.go_type = "swarm.ServiceSpec";
  s.fields = {{"Name", GoKind::kString, nullptr, ""},
              {"TaskTemplate", GoKind::kStruct, task, ""},
              {"Mode", GoKind::kAny, nullptr, ""}};
  return s;
}

TEST(GoJsonTest, TypeErrorsMatchGo) {
  const GoSchema secret = SecretSpecSchema();
  const GoSchema service = ServiceSpecSchema();
  struct Case {
    const GoSchema* schema;
    std::string in, msg;
  };
  const std::vector<Case> cases = {
      // Oracle: docker 20.10 POST /secrets/create {"Name":5,"Data":"eA=="}.
      {&secret, R"({"Name":5,"Data":"eA=="})",
       "json: cannot unmarshal number into Go struct field SecretSpec.Name of type string"},
      {&secret, R"({"name":true})",
       "json: cannot unmarshal bool into Go struct field SecretSpec.Name of type string"},
      {&secret, R"({"Labels":"x"})",
       "json: cannot unmarshal string into Go struct field SecretSpec.Labels of type "
       "map[string]string"},
      {&secret, R"({"Labels":{"a":1}})",
       "json: cannot unmarshal number into Go struct field SecretSpec.Labels of type string"},
      {&secret, R"({"Data":5})",
       "json: cannot unmarshal number into Go struct field SecretSpec.Data of type []uint8"},
      {&secret, R"({"Data":"!!!not base64"})", "illegal base64 data at input byte 0"},
      {&secret, R"({"Data":"aGVsbG8"})", "illegal base64 data at input byte 4"},
      {&secret, R"({"Templating":"golang"})",
       "json: cannot unmarshal string into Go struct field SecretSpec.Templating of type "
       "swarm.Driver"},
      {&secret, R"({"Templating":{"Name":["x"]}})",
       "json: cannot unmarshal array into Go struct field Driver.Templating.Name of type "
       "string"},
      {&secret, "[]", "json: cannot unmarshal array into Go value of type swarm.SecretSpec"},
      {&secret, "\"x\"", "json: cannot unmarshal string into Go value of type swarm.SecretSpec"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"Image":5}}})",
       "json: cannot unmarshal number into Go struct field "
       "ContainerSpec.TaskTemplate.ContainerSpec.Image of type string"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"Secrets":{}}}})",
       "json: cannot unmarshal object into Go struct field "
       "ContainerSpec.TaskTemplate.ContainerSpec.Secrets of type []*swarm.SecretReference"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"Secrets":["pw"]}}})",
       "json: cannot unmarshal string into Go struct field "
       "ContainerSpec.TaskTemplate.ContainerSpec.Secrets of type swarm.SecretReference"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"Secrets":[{"File":{"UID":0}}]}}})",
       "json: cannot unmarshal number into Go struct field "
       "SecretReferenceFileTarget.TaskTemplate.ContainerSpec.Secrets.File.UID of type string"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"Secrets":[{"File":{"Mode":1.5}}]}}})",
       "json: cannot unmarshal number 1.5 into Go struct field "
       "SecretReferenceFileTarget.TaskTemplate.ContainerSpec.Secrets.File.Mode of type "
       "fs.FileMode"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"Secrets":[{"File":{"Mode":-1}}]}}})",
       "json: cannot unmarshal number -1 into Go struct field "
       "SecretReferenceFileTarget.TaskTemplate.ContainerSpec.Secrets.File.Mode of type "
       "fs.FileMode"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"Secrets":[{"File":{"Mode":4294967296}}]}}})",
       "json: cannot unmarshal number 4294967296 into Go struct field "
       "SecretReferenceFileTarget.TaskTemplate.ContainerSpec.Secrets.File.Mode of type "
       "fs.FileMode"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"StopGracePeriod":9223372036854775808}}})",
       "json: cannot unmarshal number 9223372036854775808 into Go struct field "
       "ContainerSpec.TaskTemplate.ContainerSpec.StopGracePeriod of type time.Duration"},
      {&service, R"({"TaskTemplate":{"ForceUpdate":-1}})",
       "json: cannot unmarshal number -1 into Go struct field TaskSpec.TaskTemplate.ForceUpdate "
       "of type uint64"},
      {&service, R"({"TaskTemplate":{"ContainerSpec":{"Args":["a",1]}}})",
       "json: cannot unmarshal number into Go struct field "
       "ContainerSpec.TaskTemplate.ContainerSpec.Args of type string"},
  };
  for (const auto& c : cases) {
    auto v = DecodeGoJson(c.in);
    ASSERT_TRUE(v.ok()) << c.in << ": " << v.status();
    Status s = CheckGoTypes(*v, *c.schema);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.in;
    EXPECT_EQ(s.message(), c.msg) << c.in;
  }
}

TEST(GoJsonTest, FloatsOutOfRangeAreTypeErrors) {
  // Found by tests/fuzz: 1e400 decoded to inf and was accepted (then rendered as 0). Go's
  // ParseFloat refuses it, and anything beyond float32's range for a float32 field.
  GoSchema s;
  s.name = "UpdateConfig";
  s.go_type = "swarm.UpdateConfig";
  s.fields = {{"R", GoKind::kFloat64, nullptr, ""}, {"F", GoKind::kFloat64, nullptr, "float32"}};
  for (const std::string in : {R"({"R":1e308,"F":3.4e38})", R"({"R":-1e308,"F":-1.5})"}) {
    auto v = DecodeGoJson(in);
    ASSERT_TRUE(v.ok()) << in;
    EXPECT_TRUE(CheckGoTypes(*v, s).ok()) << in << ": " << CheckGoTypes(*v, s);
  }
  const std::pair<std::string, std::string> bad[] = {
      {R"({"R":1e400})",
       "json: cannot unmarshal number inf into Go struct field UpdateConfig.R "
       "of type float64"},
      {R"({"R":-1e400})",
       "json: cannot unmarshal number -inf into Go struct field "
       "UpdateConfig.R of type float64"},
      {R"({"F":1e39})",
       "json: cannot unmarshal number 1e+39 into Go struct field UpdateConfig.F "
       "of type float32"},
  };
  for (const auto& [in, msg] : bad) {
    auto v = DecodeGoJson(in);
    ASSERT_TRUE(v.ok()) << in;
    Status st = CheckGoTypes(*v, s);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << in;
    EXPECT_EQ(st.message(), msg) << in;
  }
}

TEST(GoJsonTest, AcceptsWellTypedNullsAndUnknownFields) {
  const GoSchema secret = SecretSpecSchema();
  const GoSchema service = ServiceSpecSchema();
  for (const std::string in :
       {R"({"Name":"pw","Labels":{"a":"b","c":null},"Data":"aGVsbG8=","Bogus":[1]})",
        R"({"Name":null,"Data":null,"Labels":null,"Templating":null})", "null",
        R"({"Templating":{"Name":"golang"},"data":"eA=="})"}) {
    auto v = DecodeGoJson(in);
    ASSERT_TRUE(v.ok()) << in;
    EXPECT_TRUE(CheckGoTypes(*v, secret).ok()) << in << ": " << CheckGoTypes(*v, secret);
  }
  auto v = DecodeGoJson(
      R"({"Name":"web","Mode":{"Replicated":{"Replicas":1}},"TaskTemplate":{"ContainerSpec":
         {"Image":"busybox","Args":["sh"],"StopGracePeriod":10000000000,
          "Secrets":[null,{"File":{"Name":"password","UID":"2000","GID":"3000","Mode":256},
          "SecretID":"abc","SecretName":"pw"}]},"ForceUpdate":18446744073709551615}})");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(CheckGoTypes(*v, service).ok()) << CheckGoTypes(*v, service);
}

TEST(GoJsonTest, GoFieldMatchesCaseInsensitivelyPreferringExact) {
  auto v = DecodeGoJson(R"({"name":"lower","Labels":{},"LABELS":1})");
  ASSERT_TRUE(v.ok());
  const json* name = GoField(*v, "Name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(*name, "lower");
  const json* labels = GoField(*v, "Labels");
  ASSERT_NE(labels, nullptr);
  EXPECT_TRUE(labels->is_object());
  EXPECT_EQ(GoField(*v, "Data"), nullptr);
  EXPECT_EQ(GoField(json::array(), "Name"), nullptr);
}

}  // namespace
}  // namespace capsule::http
