#include "cli/tabwriter.h"

#include <algorithm>

#include "absl/strings/str_split.h"

namespace capsule::cli {
namespace {

// Go's tabwriter measures cells in runes (UTF-8 code points).
size_t RuneCount(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

std::string AlignColumns(const std::vector<std::string>& lines, TabWriterOptions opts) {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(lines.size());
  for (const std::string& line : lines) {
    cells.push_back(absl::StrSplit(line, '\t'));
  }
  // widths[c] covers column c of every line that has a cell after it (tab-terminated).
  std::vector<size_t> widths;
  for (const auto& row : cells) {
    for (size_t c = 0; c + 1 < row.size(); ++c) {
      if (widths.size() <= c) widths.push_back(opts.min_width);
      widths[c] = std::max(widths[c], RuneCount(row[c]) + opts.padding);
    }
  }
  std::string out;
  for (const auto& row : cells) {
    for (size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out.append(widths[c] - RuneCount(row[c]), ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace capsule::cli
