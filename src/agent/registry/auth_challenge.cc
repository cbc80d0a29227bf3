// ParseAuthChallenges (declared in auth_challenge.h).
#include "agent/registry/auth_challenge.h"

#include <cctype>

namespace capsule::agent::registry {
namespace {

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Scanner {
 public:
  explicit Scanner(const std::string& s) : s_(s) {}
  void SkipSpace() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[i_]; }
  void Advance() { ++i_; }
  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }
  std::string Token() {
    const size_t start = i_;
    while (i_ < s_.size() && IsTokenChar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  // A quoted string (after the opening quote is seen) with backslash escapes.
  bool Quoted(std::string* out) {
    ++i_;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\' && i_ < s_.size()) {
        out->push_back(s_[i_++]);
      } else {
        out->push_back(c);
      }
    }
    return false;
  }

 private:
  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace

std::vector<AuthChallenge> ParseAuthChallenges(const std::string& header) {
  std::vector<AuthChallenge> out;
  Scanner sc(header);
  for (;;) {
    sc.SkipSpace();
    while (sc.Peek() == ',') {
      sc.Advance();
      sc.SkipSpace();
    }
    if (sc.AtEnd()) return out;
    std::string scheme = sc.Token();
    if (scheme.empty()) return out;
    AuthChallenge ch;
    ch.scheme = Lower(scheme);
    // Parameters: name=value pairs separated by ','; a bare token followed by a space and a
    // token that is not "name=" starts the next challenge.
    for (;;) {
      sc.SkipSpace();
      const size_t mark = sc.pos();
      std::string name = sc.Token();
      sc.SkipSpace();
      if (name.empty() || sc.Peek() != '=') {
        sc.set_pos(mark);
        break;
      }
      sc.Advance();
      sc.SkipSpace();
      std::string value;
      if (sc.Peek() == '"') {
        if (!sc.Quoted(&value)) {
          out.push_back(std::move(ch));
          return out;
        }
      } else {
        value = sc.Token();
      }
      ch.params[Lower(name)] = value;
      sc.SkipSpace();
      if (sc.Peek() == ',') sc.Advance();
    }
    out.push_back(std::move(ch));
    if (sc.pos() == header.size()) return out;
  }
}

}  // namespace capsule::agent::registry
