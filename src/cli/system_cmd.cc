// `capsule version` and `capsule info`.
#include "cli/commands.h"
#include "cli/system_ops.h"

namespace capsule::cli {

void AddSystemCommands(CLI::App& root, CommandContext& ctx) {
  root.add_subcommand("version", "Show the Capsule version information")->callback([&ctx] {
    ctx.SetResult(Version(ctx));
  });
  root.add_subcommand("info", "Display system-wide information")->callback([&ctx] {
    ctx.SetResult(Info(ctx));
  });
}

}  // namespace capsule::cli
