// Formatting helpers the CLI shares with docker: durations, tables, sorting, base64,
// query/filter encoding, JSON indentation.
#include <gtest/gtest.h>

#include <chrono>

#include "cli/base64.h"
#include "cli/human_duration.h"
#include "cli/json_indent.h"
#include "cli/list_format.h"
#include "cli/natural_sort.h"
#include "cli/query.h"
#include "cli/secret_ops.h"
#include "cli/tabwriter.h"

namespace capsule::cli {
namespace {

using namespace std::chrono_literals;

TEST(HumanDurationTest, MatchesGoUnitsTable) {
  struct Case {
    std::chrono::nanoseconds d;
    const char* want;
  };
  const Case cases[] = {
      {-5s, "Less than a second"},
      {0s, "Less than a second"},
      {999ms, "Less than a second"},
      {1s, "1 second"},
      {1999ms, "1 second"},
      {2s, "2 seconds"},
      {59s, "59 seconds"},
      {60s, "About a minute"},
      {119s, "About a minute"},
      {2min, "2 minutes"},
      {59min + 59s, "59 minutes"},
      {60min, "About an hour"},
      {89min, "About an hour"},  // hours are rounded: 1.48 → 1
      {90min, "2 hours"},        // 1.5 rounds half away from zero → 2
      {47h, "47 hours"},
      {48h, "2 days"},
      {24h * 13, "13 days"},
      {24h * 14, "2 weeks"},
      {24h * 40, "5 weeks"},
      {24h * 59, "8 weeks"},
      {24h * 60, "2 months"},
      {24h * 729, "24 months"},
      {24h * 730, "2 years"},
      {24h * 365 * 10, "10 years"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(HumanDuration(c.d), c.want) << "duration ns " << c.d.count();
  }
}

TEST(TabWriterTest, DockerSecretLsLayout) {
  // The oracle's `docker secret ls` (20.10): min width 10, padding 3, last column unpadded.
  const std::string got = AlignColumns({
      "ID\tNAME\tDRIVER\tCREATED\tUPDATED",
      "ii7hxx1yoe1izupm6vw0qkdxd\tpw\t\tLess than a second ago\tLess than a second ago",
      "jag5shk58vngclfdckj5ibi3l\tpwfile\t\tLess than a second ago\tLess than a second ago",
  });
  EXPECT_EQ(got,
            "ID                          NAME      DRIVER    CREATED                  UPDATED\n"
            "ii7hxx1yoe1izupm6vw0qkdxd   pw                  Less than a second ago   Less than "
            "a second ago\n"
            "jag5shk58vngclfdckj5ibi3l   pwfile              Less than a second ago   Less than "
            "a second ago\n");
}

TEST(TabWriterTest, CountsRunesNotBytes) {
  EXPECT_EQ(
      AlignColumns({"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\tx", "a\ty"}),
      "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9   x\n"
      "a          y\n");
}

TEST(NaturalLessTest, OrdersLikeSortorder) {
  EXPECT_TRUE(NaturalLess("zeta9", "zeta10"));
  EXPECT_FALSE(NaturalLess("zeta10", "zeta9"));
  EXPECT_TRUE(NaturalLess("a", "b"));
  EXPECT_TRUE(NaturalLess("abc", "abcd"));
  EXPECT_TRUE(NaturalLess("2", "02"));   // fewer leading zeros first
  EXPECT_TRUE(NaturalLess("1x", "ax"));  // digits before other bytes
  EXPECT_TRUE(NaturalLess("A", "a"));    // bytewise
  EXPECT_FALSE(NaturalLess("same", "same"));
  EXPECT_TRUE(NaturalLess("x2y10", "x2y9a") == false);
  EXPECT_TRUE(NaturalLess("x2y9a", "x2y10"));
}

TEST(Base64Test, StandardPaddedEncoding) {
  auto enc = [](const std::string& s) {
    return Base64Encode({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("f"), "Zg==");
  EXPECT_EQ(enc("fo"), "Zm8=");
  EXPECT_EQ(enc("foo"), "Zm9v");
  EXPECT_EQ(enc("foob"), "Zm9vYg==");
  EXPECT_EQ(enc("vm\n"), "dm0K");
  EXPECT_EQ(enc(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(QueryTest, EscapesLikeGoQueryEscape) {
  EXPECT_EQ(QueryEscape("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(QueryEscape("a b"), "a+b");
  EXPECT_EQ(QueryEscape("{\"name\":{\"x\":true}}"), "%7B%22name%22%3A%7B%22x%22%3Atrue%7D%7D");
  EXPECT_EQ(QueryEscape("a/b=c&d"), "a%2Fb%3Dc%26d");
  EXPECT_EQ(EncodeQuery({{"z", "1"}, {"a", "x y"}}), "a=x+y&z=1");
  EXPECT_EQ(EncodeQuery({}), "");
}

TEST(QueryTest, FiltersEncodeAsDockerCli) {
  FilterArgs args;
  ASSERT_TRUE(AddFilterFlag("name=x", &args).ok());
  ASSERT_TRUE(AddFilterFlag(" Label = a=b ", &args).ok());
  ASSERT_TRUE(AddFilterFlag("name=y", &args).ok());
  // Exactly what docker 20.10 sent for --filter name=x --filter label=a=b --filter name=y.
  EXPECT_EQ(FiltersToJson(args), R"({"label":{"a=b":true},"name":{"x":true,"y":true}})");
  EXPECT_EQ(FiltersToJson({}), "");
  Status bad = AddFilterFlag("foo", &args);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.message(), "bad format of filter (expected name=value)");
}

TEST(JsonIndentTest, KeepsTokensAndOrder) {
  StatusOr<std::string> got = IndentJson(
      "[{\"ID\":\"x\",\"Version\":{\"Index\":35},\"Spec\":{\"Name\":\"p\\\"w\",\"Labels\":{}},"
      "\"A\":[],\"B\":[1, 2.50e3]}\n]");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got,
            "[\n"
            "    {\n"
            "        \"ID\": \"x\",\n"
            "        \"Version\": {\n"
            "            \"Index\": 35\n"
            "        },\n"
            "        \"Spec\": {\n"
            "            \"Name\": \"p\\\"w\",\n"
            "            \"Labels\": {}\n"
            "        },\n"
            "        \"A\": [],\n"
            "        \"B\": [\n"
            "            1,\n"
            "            2.50e3\n"
            "        ]\n"
            "    }\n"
            "]");
  EXPECT_FALSE(IndentJson("{\"a\":").ok());
}

TEST(ListFormatTest, CustomTemplatesAndErrors) {
  const ListFormatSpec spec{"table {{.ID}}\t{{.Name}}", {{"ID", "ID"}, {"Name", "NAME"}}};
  const std::vector<ListRow> rows = {{{"ID", "1"}, {"Name", "a"}}, {{"ID", "2"}, {"Name", "b"}}};
  EXPECT_EQ(*RenderList("{{.Name}}\\t{{ .ID }}!", spec, rows), "a\t1!\nb\t2!\n");
  EXPECT_EQ(*RenderList("table {{.Name}}", spec, rows), "NAME\na\nb\n");
  EXPECT_EQ(*RenderList("", spec, {}), "ID        NAME\n");
  StatusOr<std::string> bad = RenderList("{{.Bogus}}", spec, rows);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find("can't evaluate field Bogus"),
            std::string::npos);
}

TEST(PrettyTimeTest, GoTimeStringLowerCased) {
  EXPECT_EQ(PrettyTime("2026-11-28T00:27:18.140444032Z"),
            "2026-11-28 00:27:18.140444032 +0000 utc");
  EXPECT_EQ(PrettyTime("2026-11-28T00:27:18Z"), "2026-11-28 00:27:18 +0000 utc");
  EXPECT_EQ(PrettyTime("garbage"), "garbage");
}

TEST(LabelsTest, SplitAtFirstEquals) {
  auto labels = ParseLabels({"a=b", "c", "d=e=f", "g="});
  EXPECT_EQ(labels,
            (std::map<std::string, std::string>{{"a", "b"}, {"c", ""}, {"d", "e=f"}, {"g", ""}}));
}

}  // namespace
}  // namespace capsule::cli
