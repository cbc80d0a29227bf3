// JsonArrayBody: the framing of a streamed JSON array ("[", commas, "]\n"), its announced size,
// and how it splits into pieces.
#include "dockerapi/json_array_body.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace capsule::dockerapi {
namespace {

JsonArrayBody BodyOf(const std::vector<std::string>& elements, bool with_sizes) {
  auto append = [elements](size_t i, std::string* out) { out->append(elements[i]); };
  if (!with_sizes) return JsonArrayBody(elements.size(), append);
  return JsonArrayBody(elements.size(), append,
                       [elements](size_t i) { return elements[i].size(); });
}

// The pieces of `body` asked for `hint` bytes at a time, until one appends nothing.
std::vector<std::string> Pieces(JsonArrayBody& body, size_t hint) {
  std::vector<std::string> out;
  for (int guard = 0; guard < 100000; ++guard) {
    std::string piece;
    body.Next(hint, &piece);
    if (piece.empty()) return out;
    out.push_back(std::move(piece));
  }
  ADD_FAILURE() << "the body never ended";
  return out;
}

std::string Join(const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += p;
  return out;
}

TEST(JsonArrayBodyTest, EmptyArrayIsBracketsAndNewline) {
  for (bool sizes : {false, true}) {
    JsonArrayBody body = BodyOf({}, sizes);
    EXPECT_EQ(body.Size(), 3u);
    EXPECT_EQ(Join(Pieces(body, 64)), "[]\n");
  }
}

TEST(JsonArrayBodyTest, ElementsAreJoinedByCommasAsJsonResponseWould) {
  const std::vector<std::string> elements = {R"({"ID":"a"})", R"({"ID":"b"})", "{}"};
  const std::string want = R"([{"ID":"a"},{"ID":"b"},{}])"
                           "\n";
  for (bool sizes : {false, true}) {
    for (size_t hint : {1u, 5u, 12u, 13u, 64u * 1024u}) {
      SCOPED_TRACE(testing::Message() << "sizes " << sizes << " hint " << hint);
      JsonArrayBody body = BodyOf(elements, sizes);
      EXPECT_EQ(body.Size(), want.size());
      EXPECT_EQ(Join(Pieces(body, hint)), want);
    }
  }
}

TEST(JsonArrayBodyTest, PiecesHoldWholeElementsUpToTheHint) {
  std::vector<std::string> elements(1000, std::string(100, 'x'));
  JsonArrayBody body = BodyOf(elements, true);
  const std::vector<std::string> pieces = Pieces(body, 4096);
  ASSERT_GT(pieces.size(), 20u);
  for (size_t i = 0; i + 1 < pieces.size(); ++i) {
    EXPECT_GE(pieces[i].size(), 4096u);
    EXPECT_LT(pieces[i].size(), 4096u + 102u);  // at most one element (and a comma) beyond
  }
  EXPECT_EQ(Join(pieces).size(), body.Size());
}

TEST(JsonArrayBodyTest, AnElementLargerThanTheHintIsOnePiece) {
  JsonArrayBody body = BodyOf({std::string(10000, 'y'), "1"}, false);
  const std::vector<std::string> pieces = Pieces(body, 100);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], "[" + std::string(10000, 'y'));
  EXPECT_EQ(pieces[1], ",1]\n");
}

TEST(JsonArrayBodyTest, WithoutSizesEachElementIsRenderedOnceToCountThenOnceToSend) {
  auto calls = std::make_shared<std::vector<int>>(3, 0);
  JsonArrayBody body(3, [calls](size_t i, std::string* out) {
    ++(*calls)[i];
    out->append("[]");
  });
  EXPECT_EQ(*calls, (std::vector<int>{1, 1, 1}));
  EXPECT_EQ(body.Size(), 11u);  // [[],[],[]]\n
  EXPECT_EQ(Join(Pieces(body, 1)), "[[],[],[]]\n");
  EXPECT_EQ(*calls, (std::vector<int>{2, 2, 2}));
}

}  // namespace
}  // namespace capsule::dockerapi
