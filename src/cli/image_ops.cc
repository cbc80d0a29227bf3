#include "cli/image_ops.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/daemon_error.h"
#include "cli/error_list.h"
#include "cli/human_duration.h"
#include "cli/json_fields.h"
#include "cli/list_format.h"
#include "cli/query.h"
#include "cli/service_progress.h"
#include "common/errno_status.h"

namespace capsule::cli {
namespace {

using Json = nlohmann::json;

// Where an upload's bytes come from: a file (closed on destruction) or the CLI's stdin.
class Source {
 public:
  static StatusOr<std::unique_ptr<Source>> Open(CommandContext& ctx, const std::string& path) {
    auto src = std::unique_ptr<Source>(new Source(ctx.in()));
    if (path != "-" && !path.empty()) {
      src->fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (src->fd_ < 0) return ErrnoStatus("open", path, errno);
      src->path_ = path;
    }
    return src;
  }
  ~Source() {
    if (fd_ >= 0) close(fd_);
  }
  StatusOr<size_t> Read(char* buf, size_t cap) {
    if (fd_ < 0) {
      in_.read(buf, static_cast<std::streamsize>(cap));
      if (in_.bad()) return absl::DataLossError("error reading from stdin");
      return static_cast<size_t>(in_.gcount());
    }
    while (true) {
      const ssize_t n = read(fd_, buf, cap);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno != EINTR) return ErrnoStatus("read", path_, errno);
    }
  }

 private:
  explicit Source(std::istream& in) : in_(in) {}
  std::istream& in_;
  int fd_ = -1;
  std::string path_;
};

// Prints a JSON-message stream as docker does without a terminal; the first message with an
// error ends it with that error.
class MessagePrinter {
 public:
  explicit MessagePrinter(std::ostream& out) : out_(out) {}

  Status Feed(std::string_view data) {
    pending_.append(data);
    size_t nl;
    while ((nl = pending_.find('\n')) != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      RETURN_IF_ERROR(Line(line));
    }
    return absl::OkStatus();
  }
  Status Finish() {
    std::string rest = std::move(pending_);
    pending_.clear();
    return Line(rest);
  }

 private:
  Status Line(std::string line) {
    line = std::string(absl::StripAsciiWhitespace(line));
    if (line.empty()) return absl::OkStatus();
    Json m = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!m.is_object()) {
      out_ << line << "\n";
      return absl::OkStatus();
    }
    const std::string detail = StringAt(m, {"errorDetail", "message"});
    const std::string error = StringAt(m, {"error"});
    if (!detail.empty() || !error.empty()) {
      return absl::UnknownError(detail.empty() ? error : detail);
    }
    const std::string id = StringAt(m, {"id"});
    if (!id.empty()) out_ << id << ": ";
    if (m.contains("stream") && m["stream"].is_string()) {
      out_ << m["stream"].get<std::string>();
    } else if (m.contains("status") && m["status"].is_string()) {
      // A progress bar (progressDetail with a total) is not shown without a terminal.
      const Json detail_obj = m.value("progressDetail", Json::object());
      if (detail_obj.is_object() && detail_obj.value("total", 0) > 0) return absl::OkStatus();
      out_ << m["status"].get<std::string>() << "\n";
    }
    out_.flush();
    return absl::OkStatus();
  }

  std::ostream& out_;
  std::string pending_;
};

Status Upload(CommandContext& ctx, HttpRequest request, const std::string& source) {
  ASSIGN_OR_RETURN(std::unique_ptr<Source> src, Source::Open(ctx, source));
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  request.body_reader = [&src](char* buf, size_t cap) { return src->Read(buf, cap); };
  MessagePrinter printer(ctx.out());
  ASSIGN_OR_RETURN(HttpResponse response, client->Stream(request, [&](std::string_view data) {
    return printer.Feed(data);
  }));
  if (response.status < 200 || response.status > 299) return DaemonError(response);
  return printer.Finish();
}

std::string HumanSizeImpl(double size) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
  size_t i = 0;
  while (size >= 1000.0 && i + 1 < sizeof(kUnits) / sizeof(kUnits[0])) {
    size /= 1000.0;
    ++i;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.3g%s", size, kUnits[i]);
  return buf;
}

// Splits "repo:tag" where the tag follows the last ':' after the last '/'.
std::pair<std::string, std::string> SplitTag(const std::string& ref) {
  const size_t slash = ref.rfind('/');
  const size_t colon = ref.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    return {ref.substr(0, colon), ref.substr(colon + 1)};
  }
  return {ref, ""};
}

// An image reference in a URL path as Go writes it: '/', ':' and '@' stay literal.
std::string ImagePath(const std::string& name) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' ||
        c == ':' || c == '@') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string FamiliarRepo(std::string repo) {
  for (const char* prefix : {"docker.io/library/", "docker.io/"}) {
    const std::string p(prefix);
    if (repo.rfind(p, 0) == 0) return repo.substr(p.size());
  }
  return repo;
}

}  // namespace

std::string HumanSize(double bytes) { return HumanSizeImpl(bytes); }

Status ImageImport(CommandContext& ctx, const ImageImportOptions& options) {
  if (!options.reference.empty()) {
    const std::string repo = SplitTag(options.reference).first;
    if (repo != absl::AsciiStrToLower(repo)) {
      return absl::InvalidArgumentError(
          "invalid reference format: repository name must be lowercase");
    }
  }
  HttpRequest request{
      "POST",
      "/images/create",
      {{"fromSrc", "-"}, {"repo", options.reference}, {"tag", ""}, {"message", options.message}},
      "",
      "text/plain"};
  for (const std::string& change : options.changes)
    request.query_list.push_back({"changes", change});
  return Upload(ctx, std::move(request), options.source);
}

Status ImageLoad(CommandContext& ctx, const std::string& input) {
  HttpRequest request{"POST", "/images/load", {{"quiet", "1"}}, "", "application/x-tar"};
  return Upload(ctx, std::move(request), input.empty() ? "-" : input);
}

Status ImageList(CommandContext& ctx, const ImageListOptions& options) {
  FilterArgs filters;
  for (const std::string& f : options.filters) {
    Status s = AddFilterFlag(f, &filters);
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid argument \"", f, "\" for \"-f, --filter\" flag: ", s.message(),
                       "\nSee '", kProgramName, " image ls --help'."));
    }
  }
  if (!options.reference.empty()) filters["reference"].push_back(options.reference);
  HttpRequest request{"GET", "/images/json", {}, "", ""};
  if (std::string json = FiltersToJson(filters); !json.empty()) request.query["filters"] = json;
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ASSIGN_OR_RETURN(HttpResponse response, Call(*client, request));
  Json list = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return absl::InternalError("unexpected answer to image list");
  const bool trunc = !options.no_trunc;
  std::vector<ListRow> rows;
  for (const Json& img : list) {
    const std::string id = StringAt(img, {"Id"});
    std::string created;
    if (img.contains("Created") && img["Created"].is_number()) {
      const TimePoint t{std::chrono::seconds(img["Created"].get<int64_t>())};
      created = absl::StrCat(HumanDuration(ctx.clock().Now() - t), " ago");
    }
    const double size =
        img.contains("Size") && img["Size"].is_number() ? img["Size"].get<double>() : 0;
    auto row = [&](const std::string& repo, const std::string& tag) {
      rows.push_back({{"Repository", repo},
                      {"Tag", tag},
                      {"ID", trunc ? TruncateId(id) : id},
                      {"CreatedSince", created.empty() ? "N/A" : created},
                      {"Size", HumanSize(size)}});
    };
    std::vector<std::string> tags;
    if (img.contains("RepoTags") && img["RepoTags"].is_array()) {
      for (const Json& t : img["RepoTags"]) {
        if (t.is_string() && t.get<std::string>() != "<none>:<none>") {
          tags.push_back(t.get<std::string>());
        }
      }
    }
    if (tags.empty()) {
      row("<none>", "<none>");
      continue;
    }
    for (const std::string& t : tags) {
      auto [repo, tag] = SplitTag(t);
      row(FamiliarRepo(repo), tag.empty() ? "<none>" : tag);
    }
  }
  static const ListFormatSpec kSpec{
      "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
      {{"Repository", "REPOSITORY"},
       {"Tag", "TAG"},
       {"ID", "IMAGE ID"},
       {"CreatedSince", "CREATED"},
       {"Size", "SIZE"}}};
  std::string format = options.format;
  if ((format.empty() || format == "table") && options.quiet) format = "{{.ID}}";
  ASSIGN_OR_RETURN(std::string text, RenderList(format, kSpec, rows));
  ctx.out() << text;
  return absl::OkStatus();
}

Status ImageRemove(CommandContext& ctx, const std::vector<std::string>& names, bool force,
                   bool no_prune) {
  ASSIGN_OR_RETURN(HttpClient * client, ctx.Client());
  ErrorList errors;
  for (const std::string& name : names) {
    HttpRequest request{"DELETE", "/images/" + ImagePath(name), {}, "", ""};
    if (force) request.query["force"] = "1";
    if (no_prune) request.query["noprune"] = "1";
    ASSIGN_OR_RETURN(HttpResponse response, client->Do(request));
    Status error;
    if (response.status == 404) {
      error = NoSuchObject("image", name);
    } else if (response.status < 200 || response.status > 299) {
      error = DaemonError(response);
    } else {
      Json items = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
      if (items.is_array()) {
        for (const Json& item : items) {
          const std::string deleted = StringAt(item, {"Deleted"});
          if (!deleted.empty()) {
            ctx.out() << "Deleted: " << deleted << "\n";
          } else {
            ctx.out() << "Untagged: " << StringAt(item, {"Untagged"}) << "\n";
          }
        }
      }
      continue;
    }
    errors.Add(error);
  }
  return errors.ToStatus();
}

}  // namespace capsule::cli
