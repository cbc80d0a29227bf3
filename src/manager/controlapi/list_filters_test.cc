// The pure matchers of list_filters.h.
#include "manager/controlapi/list_filters.h"

#include <gtest/gtest.h>

namespace capsule::controlapi {
namespace {

TEST(MatchLabels, KeyOrKeyValueAllMustMatch) {
  const Labels labels = {{"env", "prod"}, {"team", "a"}};
  struct Case {
    std::vector<std::string> filters;
    bool match;
  };
  const Case cases[] = {
      {{}, true},  // no filter: everything matches
      {{"env=prod"}, true},
      {{"team"}, true},
      {{"env=dev"}, false},
      {{"missing"}, false},
      {{"env="}, false},  // an empty value is a value, not "any"
      {{"env=prod", "team"}, true},
      {{"env=prod", "team", "env=dev"}, false},  // AND'ed
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MatchLabels(c.filters, labels), c.match) << ::testing::PrintToString(c.filters);
  }
}

TEST(MatchLabels, AnObjectWithoutLabelsNeverMatchesALabelFilter) {
  EXPECT_FALSE(MatchLabels({"team"}, {}));
  EXPECT_TRUE(MatchLabels({}, {}));
}

TEST(MatchAnyPrefix, EmptyMatchesAllElseOnePrefixMust) {
  EXPECT_TRUE(MatchAnyPrefix({}, "abc"));
  EXPECT_TRUE(MatchAnyPrefix({"x", "ab"}, "abc"));
  EXPECT_TRUE(MatchAnyPrefix({""}, "abc"));
  EXPECT_FALSE(MatchAnyPrefix({"abcd", "b"}, "abc"));
  EXPECT_FALSE(MatchAnyPrefix({"A"}, "abc"));  // case-sensitive
}

TEST(MatchAny, EmptyMatchesAllElseExactValue) {
  EXPECT_TRUE(MatchAny({}, "global"));
  EXPECT_TRUE(MatchAny({"replicated", "global"}, "global"));
  EXPECT_FALSE(MatchAny({"glob"}, "global"));
}

}  // namespace
}  // namespace capsule::controlapi
