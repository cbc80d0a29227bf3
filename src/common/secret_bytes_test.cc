#include "common/secret_bytes.h"

#include <gtest/gtest.h>

#include <sstream>

namespace capsule {
namespace {

TEST(SecretBytes, PrintsRedacted) {
  SecretBytes s = SecretBytes::CopyFrom(std::string_view("hunter2"));
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "[redacted]");
}

TEST(SecretBytes, MoveLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("abc"));
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(b.view(), "abc");
}

TEST(SecretBytes, EqualsComparesContents) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("abc"));
  const uint8_t same[] = {'a', 'b', 'c'};
  const uint8_t other[] = {'a', 'b', 'd'};
  EXPECT_TRUE(a.Equals(same));
  EXPECT_FALSE(a.Equals(other));
  EXPECT_FALSE(a.Equals(std::span<const uint8_t>(same, 2)));
}

TEST(SecretBytes, TruncateShrinks) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("abcdef"));
  a.Truncate(2);
  EXPECT_EQ(a.view(), "ab");
}

}  // namespace
}  // namespace capsule
