// The `capsule secret …` operations: one function per command, each a thin client of the
// Docker secrets API that prints what the docker CLI prints. Errors come back as Status
// whose message is the text to show on stderr.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/context.h"
#include "common/secret_bytes.h"
#include "common/status.h"

namespace capsule::cli {

struct SecretCreateOptions {
  std::string name;
  std::string file;                 // path, "-" for stdin, "" for none (only with a driver)
  std::vector<std::string> labels;  // "k=v" or "k"
  std::string driver;
  std::string template_driver;
};

// POST /secrets/create with the file's bytes (read byte for byte, held in SecretBytes and
// base64 encoded only into the request body, which is wiped after sending); prints the ID.
Status SecretCreate(CommandContext& ctx, const SecretCreateOptions& options);

struct SecretListOptions {
  bool quiet = false;
  std::vector<std::string> filters;  // "k=v" → {"k":{"v":true}}
  std::string format;
};

// GET /secrets[?filters=…]; sorted by name (natural order); docker's table, IDs (-q) or a
// --format template.
Status SecretList(CommandContext& ctx, const SecretListOptions& options);

struct SecretInspectOptions {
  std::vector<std::string> names;
  bool pretty = false;
};

// GET /secrets/{name} for each; prints the found ones as one JSON array (4-space indent,
// daemon's bytes kept) or docker's --pretty block. Missing ones → "Error: No such secret: X"
// lines in the returned status (NotFound), after printing the others.
Status SecretInspect(CommandContext& ctx, const SecretInspectOptions& options);

// DELETE /secrets/{name} for each; prints each removed name; continues past failures and
// returns their messages joined by '\n'.
Status SecretRemove(CommandContext& ctx, const std::vector<std::string>& names);

// The bytes of `file` ("-": stdin), held in SecretBytes only. Errors: "Error reading content
// from \"<file>\": <why>".
StatusOr<SecretBytes> ReadSecretInput(CommandContext& ctx, const std::string& file);

// Parses --label values like docker (split at the first '='; "k" → "k":"").
std::map<std::string, std::string> ParseLabels(const std::vector<std::string>& labels);

// Go's time.Time String() of an RFC 3339 "Z" timestamp, lower-cased as docker's --pretty
// prints it: "2026-11-28 00:27:18.140444032 +0000 utc". Other input is returned unchanged.
std::string PrettyTime(const std::string& rfc3339);

}  // namespace capsule::cli
