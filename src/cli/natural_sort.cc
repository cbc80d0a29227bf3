#include "cli/natural_sort.h"

namespace capsule::cli {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool NaturalLess(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const char c1 = a[i], c2 = b[j];
    const bool d1 = IsDigit(c1), d2 = IsDigit(c2);
    if (d1 != d2) return d1;
    if (!d1) {
      if (c1 != c2) return static_cast<unsigned char>(c1) < static_cast<unsigned char>(c2);
      ++i;
      ++j;
      continue;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    const size_t nz1 = i, nz2 = j;
    while (i < a.size() && IsDigit(a[i])) ++i;
    while (j < b.size() && IsDigit(b[j])) ++j;
    if (i - nz1 != j - nz2) return i - nz1 < j - nz2;
    const std::string_view n1 = a.substr(nz1, i - nz1), n2 = b.substr(nz2, j - nz2);
    if (n1 != n2) return n1 < n2;
    if (nz1 != nz2) return nz1 < nz2;
  }
  return a.size() < b.size();
}

}  // namespace capsule::cli
