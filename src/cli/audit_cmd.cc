// `capsule audit [--since WHEN] [--secret NAME|ID]` — flags only; the work is in audit_ops.
#include <memory>

#include "cli/audit_ops.h"
#include "cli/commands.h"

namespace capsule::cli {

void AddAuditCommands(CLI::App& root, CommandContext& ctx) {
  auto opts = std::make_shared<AuditOptions>();
  auto stray = std::make_shared<std::vector<std::string>>();
  const std::string about =
      "Show the secrets audit log: creates, removals, rotations, rollbacks and deliveries";
  CLI::App* cmd = root.add_subcommand("audit", about);
  cmd->add_option("--since", opts->since,
                  "Show events since a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative "
                  "(e.g. \"42m\" for 42 minutes)");
  cmd->add_option("--secret", opts->secret, "Only events of this secret (name or ID)");
  AddStrayArgs(*cmd, *stray);
  cmd->callback([&ctx, opts, stray, about] {
    Status s = CheckArgCount({"audit", "[OPTIONS]", about}, stray->size(), 0, 0);
    ctx.SetResult(s.ok() ? Audit(ctx, *opts) : s);
  });
}

}  // namespace capsule::cli
