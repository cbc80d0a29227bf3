// `capsule secret create|ls|inspect|rm` — flags and arguments only; the work is in secret_ops.
#include <memory>

#include "cli/commands.h"
#include "cli/secret_ops.h"

namespace capsule::cli {

void AddSecretCommands(CLI::App& root, CommandContext& ctx) {
  CLI::App* secret = root.add_subcommand("secret", "Manage Secrets");

  {
    struct State {
      SecretCreateOptions options;
      std::vector<std::string> args;
    };
    auto st = std::make_shared<State>();
    CLI::App* cmd =
        secret->add_subcommand("create", "Create a secret from a file or STDIN as content");
    AddListOption(*cmd, "-l,--label", st->options.labels, "Secret labels");
    cmd->add_option("-d,--driver", st->options.driver, "Secret driver");
    cmd->add_option("--template-driver", st->options.template_driver, "Template driver");
    cmd->add_option("args", st->args, "SECRET [file|-]");
    cmd->callback([&ctx, st] {
      const CommandUsage usage{"secret create", "[OPTIONS] SECRET [file|-]",
                               "Create a secret from a file or STDIN as content"};
      Status s = CheckArgCount(usage, st->args.size(), 1, 2);
      if (s.ok()) {
        st->options.name = st->args[0];
        if (st->args.size() == 2) st->options.file = st->args[1];
        s = SecretCreate(ctx, st->options);
      }
      ctx.SetResult(s);
    });
  }
  {
    auto opts = std::make_shared<SecretListOptions>();
    auto stray = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = secret->add_subcommand("ls", "List secrets");
    cmd->alias("list");
    cmd->add_flag("-q,--quiet", opts->quiet, "Only display IDs");
    AddListOption(*cmd, "-f,--filter", opts->filters, "Filter output based on conditions provided");
    cmd->add_option("--format", opts->format, "Pretty-print secrets using a Go template");
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, opts, stray] {
      Status s = CheckArgCount({"secret ls", "[OPTIONS]", "List secrets"}, stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? SecretList(ctx, *opts) : s);
    });
  }
  {
    auto opts = std::make_shared<SecretInspectOptions>();
    CLI::App* cmd =
        secret->add_subcommand("inspect", "Display detailed information on one or more secrets");
    cmd->add_flag("--pretty", opts->pretty, "Print the information in a human friendly format");
    cmd->add_option("names", opts->names, "SECRET [SECRET...]");
    cmd->callback([&ctx, opts] {
      const CommandUsage usage{"secret inspect", "[OPTIONS] SECRET [SECRET...]",
                               "Display detailed information on one or more secrets"};
      Status s = CheckArgCount(usage, opts->names.size(), 1, -1);
      ctx.SetResult(s.ok() ? SecretInspect(ctx, *opts) : s);
    });
  }
  {
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = secret->add_subcommand("rm", "Remove one or more secrets");
    cmd->alias("remove");
    cmd->add_option("names", *names, "SECRET [SECRET...]");
    cmd->callback([&ctx, names] {
      const CommandUsage usage{"secret rm", "SECRET [SECRET...]", "Remove one or more secrets"};
      Status s = CheckArgCount(usage, names->size(), 1, -1);
      ctx.SetResult(s.ok() ? SecretRemove(ctx, *names) : s);
    });
  }
}

}  // namespace capsule::cli
