#include "agent/secret_cache.h"

#include <gtest/gtest.h>

namespace capsule::agent {
namespace {

SecretBytes Bytes(std::string_view s) { return SecretBytes::CopyFrom(s); }

TEST(SecretCacheTest, PutGetRemoveListsIdsOnly) {
  SecretCache cache;
  cache.Put("b", Bytes("two"));
  cache.Put("a", Bytes("one"));
  EXPECT_EQ(cache.Ids(), (std::vector<std::string>{"a", "b"}));
  ASSERT_NE(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.Get("a")->view(), "one");
  EXPECT_EQ(cache.Get("zz"), nullptr);
  cache.Remove("a");
  EXPECT_EQ(cache.Get("a"), nullptr);
  EXPECT_EQ(cache.Ids(), std::vector<std::string>{"b"});
}

TEST(SecretCacheTest, RetainOnlyAndClear) {
  SecretCache cache;
  cache.Put("a", Bytes("1"));
  cache.Put("b", Bytes("2"));
  cache.Put("c", Bytes("3"));
  cache.RetainOnly({"b", "x"});
  EXPECT_EQ(cache.Ids(), std::vector<std::string>{"b"});
  cache.Clear();
  EXPECT_TRUE(cache.Ids().empty());
}

TEST(SecretCacheTest, HolderKeepsDataUntilItLetsGo) {
  SecretCache cache;
  cache.Put("a", Bytes("held"));
  std::shared_ptr<const SecretBytes> held = cache.Get("a");
  cache.Remove("a");
  EXPECT_EQ(held->view(), "held");  // a Prepare in progress still reads it
  EXPECT_TRUE(cache.Ids().empty());
}

}  // namespace
}  // namespace capsule::agent
