// Column alignment as the docker CLI prints tables: Go's text/tabwriter with
// minwidth 10, tabwidth 1, padding 3, padchar ' ', no flags. Cells are separated by '\t';
// the last cell of a line is not part of a column and is never padded.
#pragma once

#include <string>
#include <vector>

namespace capsule::cli {

struct TabWriterOptions {
  size_t min_width = 10;
  size_t padding = 3;
};

// Aligns `lines` (each without the trailing '\n') and returns the text, one '\n' per line.
std::string AlignColumns(const std::vector<std::string>& lines, TabWriterOptions opts = {});

}  // namespace capsule::cli
