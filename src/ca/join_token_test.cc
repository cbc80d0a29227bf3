#include "ca/join_token.h"

#include <gtest/gtest.h>

#include "ca/root_ca.h"
#include "crypto/random.h"

namespace capsule::ca {
namespace {

bool IsBase36(std::string_view s) {
  return s.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz") == std::string_view::npos;
}

class JoinTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitCrypto().ok());
    auto root = RootCa::Generate();
    ASSERT_TRUE(root.ok());
    root_pem_ = root->cert_pem();
  }
  std::string root_pem_;
};

TEST_F(JoinTokenTest, HasDockersShape) {
  const std::string token = NewJoinToken(root_pem_);
  ASSERT_EQ(token.size(), 9u + 50 + 1 + 25);
  EXPECT_EQ(token.substr(0, 9), "SWMTKN-1-");
  EXPECT_EQ(token[59], '-');
  EXPECT_TRUE(IsBase36(token.substr(9, 50)));
  EXPECT_TRUE(IsBase36(token.substr(60)));
  auto parsed = ParseJoinToken(token);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->root_digest, token.substr(9, 50));
  EXPECT_EQ(parsed->secret, token.substr(60));
}

TEST_F(JoinTokenTest, DigestIsSha256OfRootPemInBase36) {
  // sha256("hello") = 2cf24dba…9824, in base 36 zero-padded to 50.
  EXPECT_EQ(RootCaDigestBase36("hello"), "14bu24ea7cq4jhmrgj4a3jrn1v6vem8ualnohxyeq239y1gobo");
  auto parsed = ParseJoinToken(NewJoinToken(root_pem_));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->root_digest, RootCaDigestBase36(root_pem_));
  EXPECT_TRUE(JoinTokenMatchesRoot(*parsed, root_pem_));
  auto other = RootCa::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(JoinTokenMatchesRoot(*parsed, other->cert_pem()));
}

TEST_F(JoinTokenTest, TokensAreFreshAndMatchOnlyThemselves) {
  const std::string a = NewJoinToken(root_pem_);
  const std::string b = NewJoinToken(root_pem_);
  EXPECT_NE(a, b);
  EXPECT_TRUE(JoinTokenMatches(a, a));
  EXPECT_FALSE(JoinTokenMatches(a, b));
  EXPECT_FALSE(JoinTokenMatches("", a));
  EXPECT_FALSE(JoinTokenMatches(a, ""));
}

TEST_F(JoinTokenTest, EveryTamperedCharacterFailsToParseOrMatch) {
  const std::string token = NewJoinToken(root_pem_);
  for (size_t i = 0; i < token.size(); ++i) {
    for (char c : {'0', 'z', 'A', '-', '_'}) {
      if (token[i] == c) continue;
      std::string t = token;
      t[i] = c;
      EXPECT_FALSE(JoinTokenMatches(t, token)) << t;
    }
  }
}

TEST_F(JoinTokenTest, MalformedTokensAreInvalidArgument) {
  const std::string token = NewJoinToken(root_pem_);
  std::string upper = token;
  upper[70] = 'A';
  for (const std::string& bad :
       {std::string(""), std::string("SWMTKN-1-"), token.substr(0, token.size() - 1), token + "0",
        "SWMTKN-2-" + token.substr(9), "swmtkn-1-" + token.substr(9), upper,
        token.substr(0, 59) + "_" + token.substr(60), std::string(100000, 'S')}) {
    auto parsed = ParseJoinToken(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(parsed.status().message(), "invalid join token");
  }
}

}  // namespace
}  // namespace capsule::ca
