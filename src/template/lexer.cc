#include "template/lexer.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"

namespace capsule::tmpl::internal {
namespace {

#define RETURN_IF_ERROR_(expr)         \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (0)

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlnum(unsigned char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c >= 0x80;  // Go accepts Unicode letters
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

class Lexer {
 public:
  Lexer(std::string_view name, std::string_view src) : name_(name), src_(src) {}

  absl::StatusOr<Vec<Token>> Run() {
    bool trim_next = false;
    for (;;) {
      // Text up to the next "{{".
      size_t open = src_.find("{{", pos_);
      size_t end = open == std::string_view::npos ? src_.size() : open;
      bool trim_left = false;
      if (open != std::string_view::npos && open + 3 < src_.size() && src_[open + 2] == '-' &&
          IsSpace(src_[open + 3])) {
        trim_left = true;
      }
      size_t text_start = pos_;
      size_t text_end = end;
      if (trim_next) {
        while (text_start < text_end && IsSpace(src_[text_start])) ++text_start;
      }
      if (trim_left) {
        while (text_end > text_start && IsSpace(src_[text_end - 1])) --text_end;
      }
      if (text_end > text_start) {
        Emit(Token::Type::kText, pos_, src_.substr(text_start, text_end - text_start));
      }
      CountLines(pos_, end);
      pos_ = end;
      trim_next = false;
      if (open == std::string_view::npos) break;
      Emit(Token::Type::kLeft, pos_, "{{");
      pos_ += 2;
      if (trim_left) pos_ += 2;  // "- "
      // A comment fills the whole action.
      if (src_.substr(pos_, 2) == "/*") {
        size_t close = src_.find("*/", pos_ + 2);
        if (close == std::string_view::npos) return Error("unclosed comment");
        CountLines(pos_, close);
        pos_ = close + 2;
        tokens_.pop_back();  // the comment's "{{"
        if (src_.substr(pos_, 4).size() == 4 && IsSpace(src_[pos_]) && src_[pos_ + 1] == '-' &&
            src_.substr(pos_ + 2, 2) == "}}") {
          pos_ += 4;
          trim_next = true;
        } else if (src_.substr(pos_, 2) == "}}") {
          pos_ += 2;
        } else {
          return Error("comment ends before closing delimiter");
        }
        continue;
      }
      absl::StatusOr<bool> trim = InsideAction();
      if (!trim.ok()) return trim.status();
      trim_next = *trim;
    }
    Emit(Token::Type::kEOF, pos_, "");
    return std::move(tokens_);
  }

 private:
  void Emit(Token::Type t, size_t pos, std::string_view val) {
    Token tok;
    tok.type = t;
    tok.pos = pos;
    tok.line = line_;
    tok.val = Str(val);
    tokens_.push_back(std::move(tok));
  }
  void CountLines(size_t from, size_t to) {
    for (size_t i = from; i < to && i < src_.size(); ++i) {
      if (src_[i] == '\n') ++line_;
    }
  }
  absl::Status Error(std::string_view msg) {
    return absl::InvalidArgumentError(
        Cat({"template: ", name_, ":", std::to_string(line_), ": ", msg}));
  }
  bool AtRightTrim() const {
    return pos_ + 4 <= src_.size() && IsSpace(src_[pos_]) && src_[pos_ + 1] == '-' &&
           src_.substr(pos_ + 2, 2) == "}}";
  }

  // Lexes one action after its "{{"; returns whether it ended with a trim marker.
  absl::StatusOr<bool> InsideAction() {
    int parens = 0;
    for (;;) {
      if (AtRightTrim() || src_.substr(pos_, 2) == "}}") {
        if (parens > 0) return Error("unclosed left paren");
        const bool trim = AtRightTrim();
        if (trim) pos_ += 2;
        Emit(Token::Type::kRight, pos_, "}}");
        pos_ += 2;
        return trim;
      }
      if (pos_ >= src_.size()) return Error("unclosed action");
      const size_t start = pos_;
      const char c = src_[pos_];
      if (IsSpace(c)) {
        while (pos_ < src_.size() && IsSpace(src_[pos_]) && !AtRightTrim()) {
          if (src_[pos_] == '\n') ++line_;
          ++pos_;
        }
        if (pos_ > start) Emit(Token::Type::kSpace, start, src_.substr(start, pos_ - start));
        continue;
      }
      if (c == ':') {
        if (src_.substr(pos_, 2) != ":=") return Error("expected :=");
        pos_ += 2;
        Emit(Token::Type::kDeclare, start, ":=");
      } else if (c == '=') {
        ++pos_;
        Emit(Token::Type::kAssign, start, "=");
      } else if (c == '|') {
        ++pos_;
        Emit(Token::Type::kPipe, start, "|");
      } else if (c == ',') {
        ++pos_;
        Emit(Token::Type::kComma, start, ",");
      } else if (c == '(') {
        ++pos_;
        ++parens;
        Emit(Token::Type::kLParen, start, "(");
      } else if (c == ')') {
        ++pos_;
        if (--parens < 0) return Error("unexpected right paren");
        Emit(Token::Type::kRParen, start, ")");
      } else if (c == '"') {
        RETURN_IF_ERROR_(QuotedString());
      } else if (c == '`') {
        size_t close = src_.find('`', pos_ + 1);
        if (close == std::string_view::npos) return Error("unterminated raw quoted string");
        CountLines(pos_, close);
        pos_ = close + 1;
        Emit(Token::Type::kRawString, start, src_.substr(start, pos_ - start));
      } else if (c == '\'') {
        RETURN_IF_ERROR_(CharConstant());
      } else if (c == '$') {
        ++pos_;
        while (pos_ < src_.size() && IsAlnum(src_[pos_])) ++pos_;
        Emit(Token::Type::kVariable, start, src_.substr(start, pos_ - start));
      } else if (c == '.') {
        if (pos_ + 1 < src_.size() && IsDigit(src_[pos_ + 1])) {
          RETURN_IF_ERROR_(Number());
          continue;
        }
        ++pos_;
        while (pos_ < src_.size() && IsAlnum(src_[pos_])) ++pos_;
        if (pos_ == start + 1) {
          Emit(Token::Type::kDot, start, ".");
        } else {
          Emit(Token::Type::kField, start, src_.substr(start + 1, pos_ - start - 1));
        }
      } else if (c == '+' || c == '-' || IsDigit(c)) {
        RETURN_IF_ERROR_(Number());
      } else if (IsAlnum(static_cast<unsigned char>(c))) {
        while (pos_ < src_.size() && IsAlnum(src_[pos_])) ++pos_;
        std::string_view word = src_.substr(start, pos_ - start);
        Token::Type t = Token::Type::kIdent;
        if (word == "true" || word == "false") {
          t = Token::Type::kBool;
        } else if (word == "nil") {
          t = Token::Type::kNil;
        } else if (word == "if" || word == "else" || word == "end" || word == "range" ||
                   word == "with" || word == "define" || word == "template" || word == "block" ||
                   word == "break" || word == "continue") {
          t = Token::Type::kKeyword;
        }
        Emit(t, start, word);
      } else {
        char buf[64];
        unsigned char uc = static_cast<unsigned char>(c);
        if (uc >= 0x20 && uc < 0x7f) {
          std::snprintf(buf, sizeof(buf), "U+%04X '%c'", uc, c);
        } else {
          std::snprintf(buf, sizeof(buf), "U+%04X", uc);
        }
        return Error(absl::StrCat("unrecognized character in action: ", buf));
      }
      // Go: after an operand comes a space, a delimiter, a paren, a pipe, a dot (field) or
      // a comma; "x@" is an error (handled above as an unrecognized character).
    }
  }

  absl::Status QuotedString() {
    const size_t start = pos_++;
    for (;;) {
      if (pos_ >= src_.size() || src_[pos_] == '\n') return Error("unterminated quoted string");
      const char c = src_[pos_++];
      if (c == '\\') {
        if (pos_ >= src_.size() || src_[pos_] == '\n') return Error("unterminated quoted string");
        ++pos_;
      } else if (c == '"') {
        break;
      }
    }
    Emit(Token::Type::kString, start, src_.substr(start, pos_ - start));
    return absl::OkStatus();
  }

  absl::Status CharConstant() {
    const size_t start = pos_++;
    for (;;) {
      if (pos_ >= src_.size() || src_[pos_] == '\n')
        return Error("unterminated character constant");
      const char c = src_[pos_++];
      if (c == '\\') {
        if (pos_ >= src_.size() || src_[pos_] == '\n') {
          return Error("unterminated character constant");
        }
        ++pos_;
      } else if (c == '\'') {
        break;
      }
    }
    Emit(Token::Type::kChar, start, src_.substr(start, pos_ - start));
    return absl::OkStatus();
  }

  // Go's scanNumber, loosely: sign, digits, '.', exponent, hex/octal/binary prefixes and
  // underscores; the parser decides whether the text is a valid number.
  absl::Status Number() {
    const size_t start = pos_;
    if (src_[pos_] == '+' || src_[pos_] == '-') ++pos_;
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (IsAlnum(static_cast<unsigned char>(c)) || c == '.') {
        ++pos_;
      } else if ((c == '+' || c == '-') && pos_ > start &&
                 (src_[pos_ - 1] == 'e' || src_[pos_ - 1] == 'E' || src_[pos_ - 1] == 'p' ||
                  src_[pos_ - 1] == 'P')) {
        ++pos_;
      } else {
        break;
      }
    }
    Emit(Token::Type::kNumber, start, src_.substr(start, pos_ - start));
    return absl::OkStatus();
  }

  std::string_view name_;
  std::string_view src_;
  size_t pos_ = 0;
  int line_ = 1;
  Vec<Token> tokens_;
};

}  // namespace

absl::StatusOr<Vec<Token>> Lex(std::string_view name, std::string_view src) {
  return Lexer(name, src).Run();
}

}  // namespace capsule::tmpl::internal
