// Registration of the command groups on the CLI11 application. Each group lives in its own
// file (<group>_cmd.cc): it declares flags and arguments and its callbacks call one
// operation function (<group>_ops.h), storing the returned Status in the context.
// A new group (node, service, image, …) adds a file and one line in app.cc.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace capsule::cli {

void AddSecretCommands(CLI::App& root, CommandContext& ctx);
// rotate|rollback|history|verify under `secret` (secret_versions_cmd.cc).
void AddSecretVersionCommands(CLI::App& secret, CommandContext& ctx);
void AddConfigCommands(CLI::App& root, CommandContext& ctx);
void AddNodeCommands(CLI::App& root, CommandContext& ctx);
void AddSwarmCommands(CLI::App& root, CommandContext& ctx);
void AddSystemCommands(CLI::App& root, CommandContext& ctx);
void AddServiceCommands(CLI::App& root, CommandContext& ctx);
void AddImageCommands(CLI::App& root, CommandContext& ctx);
void AddNetworkCommands(CLI::App& root, CommandContext& ctx);
// `capsule audit` (audit_cmd.cc).
void AddAuditCommands(CLI::App& root, CommandContext& ctx);

// Adds a repeatable single-value option (`--label a --label b`) that never swallows the
// positional arguments after it.
CLI::Option* AddListOption(CLI::App& cmd, const std::string& flags, std::vector<std::string>& into,
                           const std::string& description);

// Collects stray positional arguments (hidden from help) so a command that takes none can
// answer docker's `"capsule secret ls" accepts no arguments.` instead of a parse error.
CLI::Option* AddStrayArgs(CLI::App& cmd, std::vector<std::string>& into);

}  // namespace capsule::cli
