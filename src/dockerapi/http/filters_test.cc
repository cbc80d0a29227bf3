#include "dockerapi/http/filters.h"

#include <gtest/gtest.h>

namespace capsule::http {
namespace {

using Values = std::vector<std::string>;

TEST(FiltersTest, EmptyMeansNoFilters) {
  auto f = ParseFilters("");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->empty());
}

TEST(FiltersTest, CurrentListForm) {
  auto f = ParseFilters(R"({"name":["b","a","b"],"label":["env=prod"]})");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(FilterValues(*f, "name"), (Values{"a", "b"}));
  EXPECT_EQ(FilterValues(*f, "label"), (Values{"env=prod"}));
  EXPECT_TRUE(FilterValues(*f, "id").empty());
}

TEST(FiltersTest, LegacyMapForm) {
  auto f = ParseFilters(R"({"name":{"a":true,"b":false},"id":null})");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(FilterValues(*f, "name"), (Values{"a", "b"}));
  EXPECT_EQ(f->count("id"), 1u);  // present, so Validate still checks it
}

TEST(FiltersTest, BadJsonIsInternalWithGoMessage) {
  struct Case {
    std::string in, msg;
  };
  const std::vector<Case> cases = {
      {"notjson", "invalid character 'o' in literal null (expecting 'u')"},
      {R"({"name":)", "unexpected end of JSON input"},
      {R"({"name":["a"]} x)", "invalid character 'x' after top-level value"},
      {R"({"name":"a"})", "json: cannot unmarshal string into Go value of type map[string]bool"},
      {R"([])", "json: cannot unmarshal array into Go value of type map[string]map[string]bool"},
      {R"({"a":{"x":true},"b":["y"]})",
       "json: cannot unmarshal array into Go value of type map[string]bool"},
  };
  for (const auto& c : cases) {
    auto f = ParseFilters(c.in);
    ASSERT_FALSE(f.ok()) << c.in;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInternal) << c.in;
    EXPECT_EQ(f.status().message(), c.msg) << c.in;
  }
}

TEST(FiltersTest, ValidateRejectsUnknownKey) {
  auto f = ParseFilters(R"({"bogus":["x"],"name":["a"]})");
  ASSERT_TRUE(f.ok());
  Status s = ValidateFilters(*f, {"name", "names", "id", "label"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "Invalid filter 'bogus'");
  f->erase("bogus");
  EXPECT_TRUE(ValidateFilters(*f, {"name", "names", "id", "label"}).ok());
}

}  // namespace
}  // namespace capsule::http
