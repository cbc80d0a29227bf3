#include "cli/list_format.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli/tabwriter.h"

namespace capsule::cli {
namespace {

// One piece of a parsed template: literal text or a field reference.
struct Piece {
  bool is_field;
  std::string text;
};

StatusOr<std::vector<Piece>> Parse(const std::string& tmpl,
                                   const std::map<std::string, std::string>& known) {
  std::vector<Piece> pieces;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    const size_t open = tmpl.find("{{", pos);
    if (open == std::string::npos) {
      pieces.push_back({false, tmpl.substr(pos)});
      break;
    }
    if (open > pos) pieces.push_back({false, tmpl.substr(pos, open - pos)});
    const size_t close = tmpl.find("}}", open + 2);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError("template parsing error: unclosed action");
    }
    std::string action(absl::StripAsciiWhitespace(tmpl.substr(open + 2, close - open - 2)));
    if (action.size() < 2 || action[0] != '.') {
      return absl::InvalidArgumentError(
          absl::StrCat("template parsing error: unsupported action {{", action, "}}"));
    }
    std::string field = action.substr(1);
    if (known.find(field) == known.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("template parsing error: can't evaluate field ", field));
    }
    pieces.push_back({true, field});
    pos = close + 2;
  }
  return pieces;
}

std::string Expand(const std::vector<Piece>& pieces, const ListRow& row) {
  std::string out;
  for (const Piece& p : pieces) {
    if (!p.is_field) {
      out += p.text;
    } else if (auto it = row.find(p.text); it != row.end()) {
      out += it->second;
    }
  }
  return out;
}

}  // namespace

StatusOr<std::string> RenderList(const std::string& format, const ListFormatSpec& spec,
                                 const std::vector<ListRow>& rows) {
  std::string tmpl = format.empty() || format == "table" ? spec.default_table : format;
  tmpl = absl::StrReplaceAll(tmpl, {{"\\t", "\t"}});
  const bool table = absl::StartsWith(tmpl, "table ");
  if (table) tmpl = tmpl.substr(6);
  ASSIGN_OR_RETURN(std::vector<Piece> pieces, Parse(tmpl, spec.headers));

  if (!table) {
    std::string out;
    for (const ListRow& row : rows) absl::StrAppend(&out, Expand(pieces, row), "\n");
    return out;
  }
  std::vector<std::string> lines;
  lines.reserve(rows.size() + 1);
  lines.push_back(Expand(pieces, spec.headers));
  for (const ListRow& row : rows) lines.push_back(Expand(pieces, row));
  return AlignColumns(lines);
}

}  // namespace capsule::cli
