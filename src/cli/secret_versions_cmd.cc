// `capsule secret rotate|rollback|history|verify` (Capsule's secret versions) — flags and
// arguments only; the work is in secret_versions_ops.
#include <memory>

#include "cli/commands.h"
#include "cli/secret_versions_ops.h"

namespace capsule::cli {

void AddSecretVersionCommands(CLI::App& secret, CommandContext& ctx) {
  {
    auto st = std::make_shared<std::pair<SecretRotateOptions, std::vector<std::string>>>();
    const std::string about =
        "Make new data the secret's current version and roll every service using it";
    CLI::App* cmd = secret.add_subcommand("rotate", about);
    cmd->add_flag("-d,--detach", st->first.detach,
                  "Exit immediately instead of waiting for the services to converge");
    cmd->add_flag("-q,--quiet", st->first.quiet, "Suppress progress output");
    cmd->add_option("args", st->second, "SECRET file|-");
    cmd->callback([&ctx, st, about] {
      Status s = CheckArgCount({"secret rotate", "[OPTIONS] SECRET file|-", about},
                               st->second.size(), 2, 2);
      if (s.ok()) {
        st->first.name = st->second[0];
        st->first.file = st->second[1];
        s = SecretRotate(ctx, st->first);
      }
      ctx.SetResult(s);
    });
  }
  {
    auto st = std::make_shared<std::pair<SecretRotateOptions, std::vector<std::string>>>();
    const std::string about = "Make the secret's previous version current again, the same way";
    CLI::App* cmd = secret.add_subcommand("rollback", about);
    cmd->add_flag("-d,--detach", st->first.detach,
                  "Exit immediately instead of waiting for the services to converge");
    cmd->add_flag("-q,--quiet", st->first.quiet, "Suppress progress output");
    cmd->add_option("args", st->second, "SECRET");
    cmd->callback([&ctx, st, about] {
      Status s =
          CheckArgCount({"secret rollback", "[OPTIONS] SECRET", about}, st->second.size(), 1, 1);
      if (s.ok()) {
        st->first.name = st->second[0];
        s = SecretRollback(ctx, st->first);
      }
      ctx.SetResult(s);
    });
  }
  {
    auto args = std::make_shared<std::vector<std::string>>();
    const std::string about = "Show the versions of a secret";
    CLI::App* cmd = secret.add_subcommand("history", about);
    cmd->add_option("args", *args, "SECRET");
    cmd->callback([&ctx, args, about] {
      Status s = CheckArgCount({"secret history", "SECRET", about}, args->size(), 1, 1);
      ctx.SetResult(s.ok() ? SecretHistory(ctx, (*args)[0]) : s);
    });
  }
  {
    auto args = std::make_shared<std::vector<std::string>>();
    const std::string about =
        "Tell whether a file holds a version of the secret (exit 0: the current one)";
    CLI::App* cmd = secret.add_subcommand("verify", about);
    cmd->add_option("args", *args, "SECRET file|-");
    cmd->callback([&ctx, args, about] {
      Status s = CheckArgCount({"secret verify", "SECRET file|-", about}, args->size(), 2, 2);
      ctx.SetResult(s.ok() ? SecretVerify(ctx, (*args)[0], (*args)[1]) : s);
    });
  }
  {
    auto args = std::make_shared<std::vector<std::string>>();
    const std::string about =
        "Show or set how many old versions each secret keeps besides its current one";
    CLI::App* cmd = secret.add_subcommand("versions-kept", about);
    cmd->add_option("args", *args, "[N]");
    cmd->callback([&ctx, args, about] {
      Status s = CheckArgCount({"secret versions-kept", "[N]", about}, args->size(), 0, 1);
      ctx.SetResult(s.ok() ? SecretVersionsKept(ctx, args->empty() ? "" : (*args)[0]) : s);
    });
  }
}

}  // namespace capsule::cli
