#include "dockerapi/http/url.h"

#include <string>

#include "common/secret_bytes.h"

namespace capsule::http {
namespace {

int Unhex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Wipes and empties request->query and query_all.
void WipeQuery(Request* request) {
  while (!request->query.empty()) {
    auto node = request->query.extract(request->query.begin());
    WipeString(node.key());
    WipeString(node.mapped());
  }
  while (!request->query_all.empty()) {
    auto node = request->query_all.extract(request->query_all.begin());
    WipeString(node.key());
    for (std::string& v : node.mapped()) WipeString(v);
  }
}

}  // namespace

bool PercentDecode(std::string_view in, bool plus_as_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = Unhex(in[i + 1]);
      const int lo = Unhex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

Status ParseTarget(Request* request) {
  std::string_view target = request->target;
  // Absolute form ("http://host/path?q"): keep the path and query.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.substr(0, scheme.size()) == scheme) {
      const size_t slash = target.find('/', scheme.size());
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  const size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  std::string_view raw_query = q == std::string_view::npos ? "" : target.substr(q + 1);
  const size_t hash = raw_query.find('#');
  if (hash != std::string_view::npos) raw_query = raw_query.substr(0, hash);

  if (!PercentDecode(raw_path, false, &request->path)) {
    return absl::InvalidArgumentError("invalid URL escape in request path");
  }
  WipeQuery(request);
  while (!raw_query.empty()) {
    const size_t amp = raw_query.find('&');
    std::string_view pair = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? "" : raw_query.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    const size_t eq = pair.find('=');
    // The decoded copies are wiped too (a query value may be a secret's data).
    std::string key, value;
    if (PercentDecode(pair.substr(0, eq), true, &key) &&
        (eq == std::string_view::npos || PercentDecode(pair.substr(eq + 1), true, &value))) {
      request->query_all[key].push_back(value);
      std::string& last = request->query[key];
      WipeString(last);
      last = value;
    }
    WipeString(key);
    WipeString(value);
  }
  return absl::OkStatus();
}

void WipeRequest(Request* request) {
  WipeString(request->target);
  WipeString(request->path);
  WipeQuery(request);
  for (auto& [name, value] : request->headers) WipeString(value);
  WipeString(request->body);
}

std::string StripApiVersion(std::string* path) {
  const std::string& p = *path;
  if (p.size() < 5 || p[0] != '/' || p[1] != 'v') return "";
  size_t i = 2;
  const size_t major = i;
  while (i < p.size() && IsDigit(p[i])) ++i;
  if (i == major || i >= p.size() || p[i] != '.') return "";
  ++i;
  const size_t minor = i;
  while (i < p.size() && IsDigit(p[i])) ++i;
  if (i == minor || (i < p.size() && p[i] != '/')) return "";
  std::string version = p.substr(2, i - 2);
  std::string rest = p.substr(i);
  *path = rest.empty() ? "/" : rest;
  return version;
}

}  // namespace capsule::http
