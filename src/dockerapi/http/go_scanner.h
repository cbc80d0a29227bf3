// A port of Go's encoding/json scanner (scanner.go): a byte-at-a-time state machine whose
// error texts are Go's. Internal to go_json.cc; exposed for tests of the state machine.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace capsule::http::internal {

class GoScanner {
 public:
  enum Op {
    kContinue,
    kBeginLiteral,
    kBeginObject,
    kObjectKey,
    kObjectValue,
    kEndObject,
    kBeginArray,
    kArrayValue,
    kEndArray,
    kSkipSpace,
    kEnd,
    kError,
  };
  static constexpr size_t kMaxNestingDepth = 10000;

  GoScanner() { Reset(); }
  void Reset();
  Op Step(unsigned char c);
  // stateEndValue applied directly (Go's Decoder invents a space after '}' / ']').
  Op EndValue(unsigned char c);
  // Go's scanner.eof(): kEnd if a complete top-level value was seen, else kError.
  Op Eof();
  bool end_top() const { return end_top_; }
  const std::string& error() const { return err_; }
  bool has_error() const { return !err_.empty(); }

 private:
  enum State {
    kBeginValueOrEmpty,
    kBeginValue,
    kBeginStringOrEmpty,
    kBeginString,
    kEndValue,
    kEndTop,
    kInString,
    kInStringEsc,
    kInStringEscU,
    kInStringEscU1,
    kInStringEscU12,
    kInStringEscU123,
    kNeg,
    k1,
    k0,
    kDot,
    kDot0,
    kE,
    kESign,
    kE0,
    kT,
    kTr,
    kTru,
    kF,
    kFa,
    kFal,
    kFals,
    kN,
    kNu,
    kNul,
    kStateError,
  };
  enum Parse { kParseObjectKey, kParseObjectValue, kParseArrayValue };

  Op BeginValue(unsigned char c);
  Op BeginString(unsigned char c);
  Op EndTop(unsigned char c);
  Op Push(unsigned char c, Parse p, Op success);
  void Pop();
  Op Fail(unsigned char c, const char* context);

  State step_ = kBeginValue;
  std::vector<Parse> parse_;
  bool end_top_ = false;
  std::string err_;
};

}  // namespace capsule::http::internal
