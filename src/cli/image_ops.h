// The `capsule image …` operations (import, load, ls, rm): thin clients of the Docker images
// API that send what the docker 20.10 CLI sends and print what it prints.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"
#include "common/status.h"

namespace capsule::cli {

struct ImageImportOptions {
  std::string source;                // a file path, or "-" for stdin
  std::string reference;             // REPOSITORY[:TAG], may be empty
  std::vector<std::string> changes;  // Dockerfile lines, e.g. "ENV PATH=/bin"
  std::string message;
};

// POST /images/create?fromSrc=-&repo=…&tag=&message=…[&changes=…] with the archive streamed
// chunked (text/plain, as docker); prints the daemon's JSON-message stream ("sha256:…").
Status ImageImport(CommandContext& ctx, const ImageImportOptions& options);

// POST /images/load?quiet=1 with the archive (file or stdin) streamed chunked
// (application/x-tar); prints the daemon's messages ("Loaded image: …").
Status ImageLoad(CommandContext& ctx, const std::string& input);

struct ImageListOptions {
  std::string reference;  // optional REPOSITORY[:TAG] → filter reference=…
  bool quiet = false;
  bool no_trunc = false;
  std::vector<std::string> filters;
  std::string format;
};

// GET /images/json: REPOSITORY TAG IMAGE ID CREATED SIZE, a row per tag.
Status ImageList(CommandContext& ctx, const ImageListOptions& options);

// DELETE /images/{name}[?force=1][&noprune=1] for each; prints "Untagged: …"/"Deleted: …";
// missing → "Error: No such image: X". Continues past failures.
Status ImageRemove(CommandContext& ctx, const std::vector<std::string>& names, bool force,
                   bool no_prune);

// The sizes docker prints (go-units HumanSizeWithPrecision(size, 3)): "512B", "1.23MB".
std::string HumanSize(double bytes);

}  // namespace capsule::cli
