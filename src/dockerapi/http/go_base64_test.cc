#include "dockerapi/http/go_base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace capsule::http {
namespace {

struct DecodeCase {
  std::string in;
  bool ok;
  std::string want;  // decoded bytes, or the error message
};

TEST(GoBase64Test, DecodeMatchesGoStdEncoding) {
  const std::vector<DecodeCase> cases = {
      {"", true, ""},
      {"aGVsbG8=", true, "hello"},
      {"eA==", true, "x"},
      {"YWJj", true, "abc"},
      {"aGVs\nbG8=", true, "hello"},
      {"aGVsbG8=\r\n", true, "hello"},
      {"eA=\n=", true, "x"},
      {"\n", true, ""},
      // The two oracle cases (docker 20.10: POST /secrets/create).
      {"!!!not base64", false, "illegal base64 data at input byte 0"},
      {"aGVsbG8", false, "illegal base64 data at input byte 4"},
      {"eA", false, "illegal base64 data at input byte 0"},
      {"Y", false, "illegal base64 data at input byte 0"},
      {"eA=", false, "illegal base64 data at input byte 3"},
      {"e===", false, "illegal base64 data at input byte 1"},
      {"=", false, "illegal base64 data at input byte 0"},
      {"eA==eA==", false, "illegal base64 data at input byte 4"},
      {"aGVsbG8=x", false, "illegal base64 data at input byte 8"},
      {"YW Jj", false, "illegal base64 data at input byte 2"},
      {"eA=x", false, "illegal base64 data at input byte 2"},
      {"aGVsbG8-", false, "illegal base64 data at input byte 7"},
  };
  for (const auto& c : cases) {
    auto got = DecodeStdBase64(c.in);
    if (c.ok) {
      ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
      EXPECT_EQ(got->view(), c.want) << c.in;
    } else {
      ASSERT_FALSE(got.ok()) << c.in;
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_EQ(got.status().message(), c.want) << c.in;
    }
  }
}

TEST(GoBase64Test, EncodePadsLikeGo) {
  auto enc = [](std::string s) {
    return EncodeStdBase64({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  };
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("x"), "eA==");
  EXPECT_EQ(enc("he"), "aGU=");
  EXPECT_EQ(enc("hello"), "aGVsbG8=");
  EXPECT_EQ(enc("\xff\xfe\xfd"), "//79");
}

TEST(GoBase64Test, RoundTripsAllByteValues) {
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 256 * 3 + 1; ++i) bytes.push_back(static_cast<uint8_t>(i * 7));
  const std::string encoded = EncodeStdBase64(bytes);
  auto decoded = DecodeStdBase64(encoded);
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->Equals(bytes));
}

}  // namespace
}  // namespace capsule::http
