// Builds tar archives in memory for tests: ustar headers, optional PAX records and GNU long
// names, so tests can craft hostile archives byte by byte.
#pragma once

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agent/images/image_store.h"

namespace capsule::agent::testing {

class TarBuilder {
 public:
  TarBuilder& File(const std::string& path, const std::string& data, unsigned mode = 0644,
                   unsigned uid = 0, unsigned gid = 0) {
    return Entry(path, '0', "", data, mode, uid, gid);
  }
  TarBuilder& Dir(const std::string& path, unsigned mode = 0755) {
    return Entry(path, '5', "", "", mode, 0, 0);
  }
  TarBuilder& Symlink(const std::string& path, const std::string& target) {
    return Entry(path, '2', target, "", 0777, 0, 0);
  }
  TarBuilder& Hardlink(const std::string& path, const std::string& target) {
    return Entry(path, '1', target, "", 0644, 0, 0);
  }
  TarBuilder& Fifo(const std::string& path, unsigned mode = 0644) {
    return Entry(path, '6', "", "", mode, 0, 0);
  }
  // A character ('3') or block ('4') device node (numbers left zero).
  TarBuilder& Device(const std::string& path, char type = '3') {
    return Entry(path, type, "", "", 0666, 0, 0);
  }
  // A PAX 'x' header carrying the given records before the next entry.
  TarBuilder& Pax(const std::map<std::string, std::string>& records) {
    std::string body;
    for (const auto& [k, v] : records) body += Record(k, v);
    return Raw("PaxHeaders/x", 'x', "", body);
  }
  // A PAX header whose declared size is `size` (its data is written as zeros).
  TarBuilder& PaxOfSize(size_t size) {
    return Raw("PaxHeaders/x", 'x', "", std::string(size, 'a'));
  }
  TarBuilder& GnuLongName(const std::string& name) {
    return Raw("././@LongLink", 'L', "", name + '\0');
  }
  TarBuilder& GnuLongLink(const std::string& name) {
    return Raw("././@LongLink", 'K', "", name + '\0');
  }
  TarBuilder& Entry(const std::string& path, char type, const std::string& link,
                    const std::string& data, unsigned mode, unsigned uid, unsigned gid) {
    Header(path, type, link, data.size(), mode, uid, gid);
    Data(data);
    return *this;
  }
  std::string Finish() const { return out_ + std::string(1024, '\0'); }
  std::string Unfinished() const { return out_; }

  static std::string Record(const std::string& k, const std::string& v) {
    const std::string kv = " " + k + "=" + v + "\n";
    size_t len = kv.size() + 1;
    while (std::to_string(len).size() + kv.size() != len) ++len;
    return std::to_string(len) + kv;
  }

 private:
  TarBuilder& Raw(const std::string& path, char type, const std::string& link,
                  const std::string& data) {
    return Entry(path, type, link, data, 0644, 0, 0);
  }
  void Header(const std::string& path, char type, const std::string& link, size_t size,
              unsigned mode, unsigned uid, unsigned gid) {
    char h[512] = {};
    std::strncpy(h, path.c_str(), 100);
    std::snprintf(h + 100, 8, "%07o", mode);
    std::snprintf(h + 108, 8, "%07o", uid);
    std::snprintf(h + 116, 8, "%07o", gid);
    std::snprintf(h + 124, 12, "%011zo", size);
    std::snprintf(h + 136, 12, "%011o", 1700000000u);
    h[156] = type;
    std::strncpy(h + 157, link.c_str(), 100);
    std::memcpy(h + 257,
                "ustar\0"
                "00",
                8);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(h + 148, 8, "%06o", sum);
    out_.append(h, 512);
  }
  void Data(const std::string& data) {
    out_ += data;
    out_.append((512 - data.size() % 512) % 512, '\0');
  }
  std::string out_;
};

// A ChunkSource over `data` handing out pieces of at most `piece` bytes.
inline ChunkSource Source(const std::string& data, size_t piece = 7) {
  auto pos = std::make_shared<size_t>(0);
  return [&data, piece, pos]() -> StatusOr<std::string_view> {
    const size_t n = std::min(piece, data.size() - *pos);
    std::string_view v(data.data() + *pos, n);
    *pos += n;
    return v;
  };
}

}  // namespace capsule::agent::testing
