#include "manager/controlapi/validation/validate.h"

#include <gtest/gtest.h>

#include <string>

namespace capsule::controlapi {
namespace {

constexpr char kBadName[] =
    "invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character "
    "must be [a-zA-Z0-9]";
constexpr char kBadData[] = "secret data must be larger than 0 and less than 512000 bytes";

struct NameCase {
  std::string name;
  std::string message;  // "" = valid
};

TEST(ValidateName, MatchesDockerRulesAndMessages) {
  const std::vector<NameCase> cases = {
      {"", "name must be provided"},
      {"x", ""},
      {"ec.a-b_c", ""},
      {std::string(64, 'a'), ""},
      {std::string(65, 'a'), kBadName},
      {"-bad", kBadName},
      {"bad-", kBadName},
      {"a/b", kBadName},
      {"_bad", kBadName},
      {"ec_bad_", kBadName},
      {".ec", kBadName},
      {"ec.", kBadName},
      {"ec a", kBadName},
      {"ec:a", kBadName},
      {"\xc3\xa9" "cu", kBadName},
      {std::string(100000, 'a'), kBadName},  // long input must not crash
  };
  for (const NameCase& c : cases) {
    Status s = ValidateName(c.name);
    if (c.message.empty()) {
      EXPECT_TRUE(s.ok()) << c.name << ": " << s;
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.name.substr(0, 80);
      EXPECT_EQ(std::string(s.message()), c.message) << c.name.substr(0, 80);
    }
  }
}

TEST(ValidateSecretData, SizeLimitIsExclusive512000) {
  EXPECT_EQ(std::string(ValidateSecretData(0).message()), kBadData);
  EXPECT_TRUE(ValidateSecretData(1).ok());
  EXPECT_TRUE(ValidateSecretData(511999).ok());
  EXPECT_EQ(std::string(ValidateSecretData(512000).message()), kBadData);
  EXPECT_EQ(std::string(ValidateSecretData(512001).message()), kBadData);
}

}  // namespace
}  // namespace capsule::controlapi
