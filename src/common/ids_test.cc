#include "common/ids.h"

#include <gtest/gtest.h>

#include <set>

namespace capsule {
namespace {

TEST(NewId, Is25LowerCaseBase36Chars) {
  for (int i = 0; i < 200; ++i) {
    std::string id = NewId();
    EXPECT_TRUE(IsValidId(id)) << id;
  }
}

TEST(NewId, IsUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(seen.insert(NewId()).second);
}

TEST(Base36, EncodesKnownValues) {
  const uint8_t zero[] = {0, 0};
  EXPECT_EQ(Base36(zero, 3), "000");
  const uint8_t thirty_six[] = {0, 36};
  EXPECT_EQ(Base36(thirty_six, 1), "10");
  uint8_t max128[16];
  std::fill(std::begin(max128), std::end(max128), 0xff);
  EXPECT_EQ(Base36(max128, 25), "f5lxx1zz5pnorynqglhzmsp33");  // 2^128-1 in base 36
}

TEST(IsValidId, RejectsOtherShapes) {
  EXPECT_FALSE(IsValidId("ABCDEFGHIJKLMNOPQRSTUVWXY"));
  EXPECT_FALSE(IsValidId("abc"));
}

}  // namespace
}  // namespace capsule
