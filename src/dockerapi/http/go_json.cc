#include "dockerapi/http/go_json.h"

#include <charconv>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "dockerapi/http/go_scanner.h"

namespace capsule::http {
namespace {

using internal::GoScanner;
using nlohmann::json;

constexpr char kGoEof[] = "EOF";

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

void AppendUtf8(std::string& out, uint32_t r) {
  if (r < 0x80) {
    out.push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (r >> 6)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (r >> 12)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (r >> 18)));
    out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

constexpr uint32_t kReplacement = 0xFFFD;

// Length of the valid UTF-8 sequence at s[i] (Go's utf8.DecodeRune acceptance ranges), or
// 0 if the bytes there are not a valid encoding.
size_t ValidUtf8Length(const std::string& s, size_t i, size_t end) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c0 = b(i);
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    need = 1;
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    need = 2;
    if (c0 == 0xE0) lo = 0xA0;
    if (c0 == 0xED) hi = 0x9F;
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    need = 3;
    if (c0 == 0xF0) lo = 0x90;
    if (c0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + need >= end) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k <= need; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return need + 1;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// Go's getu4: the code unit of a "\uXXXX" at s[i], or -1.
int GetU4(const std::string& s, size_t i, size_t end) {
  if (i + 6 > end || s[i] != '\\' || s[i + 1] != 'u') return -1;
  int r = 0;
  for (size_t k = i + 2; k < i + 6; ++k) {
    const char c = s[k];
    const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return -1;
    r = r * 16 + HexValue(c);
  }
  return r;
}

// Builds a json value from input the scanner has already accepted. Iterative: nesting
// costs heap (an explicit stack), never C stack.
class Builder {
 public:
  Builder(const std::string& s, size_t end) : s_(s), end_(end) {}

  json Build() {
    struct Frame {
      json value;
      std::string key;
    };
    std::vector<Frame> stack;
    for (;;) {
      SkipSpace();
      json value;
      const char c = s_[i_];
      bool complete = true;
      if (c == '{' || c == '[') {
        ++i_;
        stack.push_back(Frame{c == '{' ? json::object() : json::array(), {}});
        SkipSpace();
        if (s_[i_] == '}' || s_[i_] == ']') {
          ++i_;
          value = std::move(stack.back().value);
          stack.pop_back();
        } else {
          complete = false;
          if (c == '{') ReadKey(&stack.back().key);
        }
      } else {
        value = Scalar();
      }
      if (!complete) continue;
      // Attach completed values to their parents, closing containers as they end.
      for (;;) {
        if (stack.empty()) return value;
        Frame& top = stack.back();
        if (top.value.is_object()) {
          top.value[top.key] = std::move(value);
        } else {
          top.value.push_back(std::move(value));
        }
        SkipSpace();
        const char d = s_[i_++];
        if (d == ',') {
          if (top.value.is_object()) ReadKey(&top.key);
          break;
        }
        value = std::move(top.value);  // d is '}' or ']'
        stack.pop_back();
      }
    }
  }

 private:
  void SkipSpace() {
    while (i_ < end_ && IsJsonSpace(s_[i_])) ++i_;
  }

  void ReadKey(std::string* key) {
    SkipSpace();
    *key = String();
    SkipSpace();
    ++i_;  // ':'
  }

  json Scalar() {
    const char c = s_[i_];
    if (c == '"') return json(String());
    if (c == 't') {
      i_ += 4;
      return json(true);
    }
    if (c == 'f') {
      i_ += 5;
      return json(false);
    }
    if (c == 'n') {
      i_ += 4;
      return json(nullptr);
    }
    return Number();
  }

  json Number() {
    const size_t start = i_;
    bool integer = true;
    while (i_ < end_) {
      const char c = s_[i_];
      if (c == '.' || c == 'e' || c == 'E') {
        integer = false;
      } else if (!(c == '-' || c == '+' || (c >= '0' && c <= '9'))) {
        break;
      }
      ++i_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + i_;
    if (integer) {
      int64_t v;
      if (std::from_chars(first, last, v).ec == std::errc()) return json(v);
      uint64_t u;
      if (*first != '-' && std::from_chars(first, last, u).ec == std::errc()) return json(u);
    }
    double d;
    if (std::from_chars(first, last, d).ec == std::errc()) return json(d);
    // Out of range: strtod gives ±HUGE_VAL or 0 like Go's ParseFloat does.
    return json(std::strtod(std::string(first, last).c_str(), nullptr));
  }

  // Go's unquote: escapes decoded, invalid UTF-8 and lone surrogates become U+FFFD.
  std::string String() {
    ++i_;  // opening quote
    std::string out;
    while (s_[i_] != '"') {
      const unsigned char c = static_cast<unsigned char>(s_[i_]);
      if (c == '\\') {
        const char e = s_[i_ + 1];
        switch (e) {
          case 'b':
            out.push_back('\b');
            break;
          case 'f':
            out.push_back('\f');
            break;
          case 'n':
            out.push_back('\n');
            break;
          case 'r':
            out.push_back('\r');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'u': {
            uint32_t r = static_cast<uint32_t>(GetU4(s_, i_, end_));
            i_ += 6;
            if (r >= 0xD800 && r <= 0xDFFF) {
              const int r2 = GetU4(s_, i_, end_);
              if (r <= 0xDBFF && r2 >= 0xDC00 && r2 <= 0xDFFF) {
                i_ += 6;
                AppendUtf8(out, 0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00));
                continue;
              }
              r = kReplacement;
            }
            AppendUtf8(out, r);
            continue;
          }
          default:  // '\\', '/', '"'
            out.push_back(e);
            break;
        }
        i_ += 2;
      } else if (c < 0x80) {
        out.push_back(static_cast<char>(c));
        ++i_;
      } else {
        const size_t n = ValidUtf8Length(s_, i_, end_);
        if (n == 0) {
          AppendUtf8(out, kReplacement);
          ++i_;
        } else {
          out.append(s_, i_, n);
          i_ += n;
        }
      }
    }
    ++i_;  // closing quote
    return out;
  }

  const std::string& s_;
  const size_t end_;
  size_t i_ = 0;
};

bool HasNonSpace(const std::string& s) {
  for (char c : s) {
    if (!IsJsonSpace(c)) return true;
  }
  return false;
}

}  // namespace

std::string GoQuoteChar(unsigned char c) {
  switch (c) {
    case '\'':
      return "'\\''";
    case '"':
      return "'\"'";
    case '\\':
      return "'\\\\'";
    case '\a':
      return "'\\a'";
    case '\b':
      return "'\\b'";
    case '\f':
      return "'\\f'";
    case '\n':
      return "'\\n'";
    case '\r':
      return "'\\r'";
    case '\t':
      return "'\\t'";
    case '\v':
      return "'\\v'";
    default:
      break;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  if (c < 0x20 || c == 0x7F) {
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  } else if (c < 0x7F) {
    out.push_back(static_cast<char>(c));
  } else if (c <= 0xA0 || c == 0xAD) {  // not printable per Go's strconv.IsPrint
    out += "\\u00";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  } else {
    AppendUtf8(out, c);  // Go converts the byte to the rune U+00XX
  }
  out.push_back('\'');
  return out;
}

StatusOr<json> DecodeGoJson(const std::string& body) {
  GoScanner scan;
  size_t end = std::string::npos;
  for (size_t i = 0; i < body.size(); ++i) {
    const GoScanner::Op op = scan.Step(static_cast<unsigned char>(body[i]));
    if (op == GoScanner::kEnd) {
      end = i;  // the value ended before this byte
      break;
    }
    if (op == GoScanner::kEndObject || op == GoScanner::kEndArray) {
      if (scan.EndValue(' ') == GoScanner::kEnd) {
        end = i + 1;
        break;
      }
    }
    if (op == GoScanner::kError) return absl::InvalidArgumentError(scan.error());
  }
  if (end == std::string::npos) {
    if (scan.Step(' ') == GoScanner::kEnd) {
      end = body.size();
    } else if (HasNonSpace(body)) {
      return absl::InvalidArgumentError("unexpected EOF");
    } else {
      return absl::InvalidArgumentError(kGoEof);
    }
  }
  return Builder(body, end).Build();
}

bool IsGoEof(const Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument && status.message() == kGoEof;
}

StatusOr<json> UnmarshalGoJson(const std::string& data) {
  GoScanner scan;
  for (char c : data) {
    if (scan.Step(static_cast<unsigned char>(c)) == GoScanner::kError) {
      return absl::InvalidArgumentError(scan.error());
    }
  }
  if (scan.Eof() == GoScanner::kError) return absl::InvalidArgumentError(scan.error());
  return Builder(data, data.size()).Build();
}

}  // namespace capsule::http
