#include "dockerapi/http/go_scanner.h"

#include "dockerapi/http/go_json.h"

namespace capsule::http::internal {
namespace {

bool IsSpace(unsigned char c) {
  return c <= ' ' && (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsHex(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

void GoScanner::Reset() {
  step_ = kBeginValue;
  parse_.clear();
  end_top_ = false;
  err_.clear();
}

GoScanner::Op GoScanner::Fail(unsigned char c, const char* context) {
  step_ = kStateError;
  err_ = "invalid character " + GoQuoteChar(c) + " " + context;
  return kError;
}

GoScanner::Op GoScanner::Push(unsigned char c, Parse p, Op success) {
  parse_.push_back(p);
  if (parse_.size() <= kMaxNestingDepth) return success;
  return Fail(c, "exceeded max depth");
}

GoScanner::Op GoScanner::BeginValue(unsigned char c) {
  if (IsSpace(c)) return kSkipSpace;
  switch (c) {
    case '{':
      step_ = kBeginStringOrEmpty;
      return Push(c, kParseObjectKey, kBeginObject);
    case '[':
      step_ = kBeginValueOrEmpty;
      return Push(c, kParseArrayValue, kBeginArray);
    case '"':
      step_ = kInString;
      return kBeginLiteral;
    case '-':
      step_ = kNeg;
      return kBeginLiteral;
    case '0':
      step_ = k0;
      return kBeginLiteral;
    case 't':
      step_ = kT;
      return kBeginLiteral;
    case 'f':
      step_ = kF;
      return kBeginLiteral;
    case 'n':
      step_ = kN;
      return kBeginLiteral;
    default:
      break;
  }
  if (c >= '1' && c <= '9') {
    step_ = k1;
    return kBeginLiteral;
  }
  return Fail(c, "looking for beginning of value");
}

GoScanner::Op GoScanner::BeginString(unsigned char c) {
  if (IsSpace(c)) return kSkipSpace;
  if (c == '"') {
    step_ = kInString;
    return kBeginLiteral;
  }
  return Fail(c, "looking for beginning of object key string");
}

GoScanner::Op GoScanner::EndTop(unsigned char c) {
  if (!IsSpace(c)) Fail(c, "after top-level value");  // reported on the next call
  return kEnd;
}

GoScanner::Op GoScanner::EndValue(unsigned char c) {
  if (parse_.empty()) {
    step_ = kEndTop;
    end_top_ = true;
    return EndTop(c);
  }
  if (IsSpace(c)) {
    step_ = kEndValue;
    return kSkipSpace;
  }
  switch (parse_.back()) {
    case kParseObjectKey:
      if (c == ':') {
        parse_.back() = kParseObjectValue;
        step_ = kBeginValue;
        return kObjectKey;
      }
      return Fail(c, "after object key");
    case kParseObjectValue:
      if (c == ',') {
        parse_.back() = kParseObjectKey;
        step_ = kBeginString;
        return kObjectValue;
      }
      if (c == '}') {
        Pop();
        return kEndObject;
      }
      return Fail(c, "after object key:value pair");
    case kParseArrayValue:
      if (c == ',') {
        step_ = kBeginValue;
        return kArrayValue;
      }
      if (c == ']') {
        Pop();
        return kEndArray;
      }
      return Fail(c, "after array element");
  }
  return Fail(c, "");
}

void GoScanner::Pop() {
  parse_.pop_back();
  if (parse_.empty()) {
    step_ = kEndTop;
    end_top_ = true;
  } else {
    step_ = kEndValue;
  }
}

GoScanner::Op GoScanner::Eof() {
  if (has_error()) return kError;
  if (end_top_) return kEnd;
  Step(' ');
  if (end_top_) return kEnd;
  if (!has_error()) err_ = "unexpected end of JSON input";
  return kError;
}

GoScanner::Op GoScanner::Step(unsigned char c) {
  switch (step_) {
    case kBeginValueOrEmpty:
      if (IsSpace(c)) return kSkipSpace;
      if (c == ']') return EndValue(c);
      return BeginValue(c);
    case kBeginValue:
      return BeginValue(c);
    case kBeginStringOrEmpty:
      if (IsSpace(c)) return kSkipSpace;
      if (c == '}') {
        parse_.back() = kParseObjectValue;
        return EndValue(c);
      }
      return BeginString(c);
    case kBeginString:
      return BeginString(c);
    case kEndValue:
      return EndValue(c);
    case kEndTop:
      return EndTop(c);
    case kInString:
      if (c == '"') {
        step_ = kEndValue;
        return kContinue;
      }
      if (c == '\\') {
        step_ = kInStringEsc;
        return kContinue;
      }
      if (c < 0x20) return Fail(c, "in string literal");
      return kContinue;
    case kInStringEsc:
      switch (c) {
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
        case '\\':
        case '/':
        case '"':
          step_ = kInString;
          return kContinue;
        case 'u':
          step_ = kInStringEscU;
          return kContinue;
        default:
          return Fail(c, "in string escape code");
      }
    case kInStringEscU:
    case kInStringEscU1:
    case kInStringEscU12:
    case kInStringEscU123:
      if (IsHex(c)) {
        step_ = step_ == kInStringEscU123 ? kInString : static_cast<State>(step_ + 1);
        return kContinue;
      }
      return Fail(c, "in \\u hexadecimal character escape");
    case kNeg:
      if (c == '0') {
        step_ = k0;
        return kContinue;
      }
      if (c >= '1' && c <= '9') {
        step_ = k1;
        return kContinue;
      }
      return Fail(c, "in numeric literal");
    case k1:
      if (IsDigit(c)) return kContinue;
      [[fallthrough]];
    case k0:
      if (c == '.') {
        step_ = kDot;
        return kContinue;
      }
      if (c == 'e' || c == 'E') {
        step_ = kE;
        return kContinue;
      }
      return EndValue(c);
    case kDot:
      if (IsDigit(c)) {
        step_ = kDot0;
        return kContinue;
      }
      return Fail(c, "after decimal point in numeric literal");
    case kDot0:
      if (IsDigit(c)) return kContinue;
      if (c == 'e' || c == 'E') {
        step_ = kE;
        return kContinue;
      }
      return EndValue(c);
    case kE:
      if (c == '+' || c == '-') {
        step_ = kESign;
        return kContinue;
      }
      [[fallthrough]];
    case kESign:
      if (IsDigit(c)) {
        step_ = kE0;
        return kContinue;
      }
      return Fail(c, "in exponent of numeric literal");
    case kE0:
      if (IsDigit(c)) return kContinue;
      return EndValue(c);
    case kT:
      if (c == 'r') return step_ = kTr, kContinue;
      return Fail(c, "in literal true (expecting 'r')");
    case kTr:
      if (c == 'u') return step_ = kTru, kContinue;
      return Fail(c, "in literal true (expecting 'u')");
    case kTru:
      if (c == 'e') return step_ = kEndValue, kContinue;
      return Fail(c, "in literal true (expecting 'e')");
    case kF:
      if (c == 'a') return step_ = kFa, kContinue;
      return Fail(c, "in literal false (expecting 'a')");
    case kFa:
      if (c == 'l') return step_ = kFal, kContinue;
      return Fail(c, "in literal false (expecting 'l')");
    case kFal:
      if (c == 's') return step_ = kFals, kContinue;
      return Fail(c, "in literal false (expecting 's')");
    case kFals:
      if (c == 'e') return step_ = kEndValue, kContinue;
      return Fail(c, "in literal false (expecting 'e')");
    case kN:
      if (c == 'u') return step_ = kNu, kContinue;
      return Fail(c, "in literal null (expecting 'u')");
    case kNu:
      if (c == 'l') return step_ = kNul, kContinue;
      return Fail(c, "in literal null (expecting 'l')");
    case kNul:
      if (c == 'l') return step_ = kEndValue, kContinue;
      return Fail(c, "in literal null (expecting 'l')");
    case kStateError:
      return kError;
  }
  return kError;
}

}  // namespace capsule::http::internal
