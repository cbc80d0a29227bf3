// `capsule secret create|ls|inspect|rm` and `capsule config create|ls|inspect|rm` — flags
// and arguments only; the work is in secret_ops (data_object_ops.h).
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/data_object_ops.h"

namespace capsule::cli {
namespace {

void AddDataObjectCommands(CLI::App& root, CommandContext& ctx, const ObjectKind& kind) {
  const std::string& noun = kind.noun;  // "secret"
  const std::string upper = absl::AsciiStrToUpper(noun);
  CLI::App* secret = root.add_subcommand(noun, "Manage " + kind.title);

  {
    struct State {
      SecretCreateOptions options;
      std::vector<std::string> args;
    };
    auto st = std::make_shared<State>();
    const std::string about = absl::StrCat("Create a ", noun, " from a file or STDIN as content");
    CLI::App* cmd = secret->add_subcommand("create", about);
    AddListOption(*cmd, "-l,--label", st->options.labels,
                  absl::StrCat(kind.title.substr(0, kind.title.size() - 1), " labels"));
    if (kind.has_driver) cmd->add_option("-d,--driver", st->options.driver, "Secret driver");
    cmd->add_option("--template-driver", st->options.template_driver, "Template driver");
    cmd->add_option("args", st->args, upper + " [file|-]");
    cmd->callback([&ctx, &kind, st, noun, upper, about] {
      const CommandUsage usage{noun + " create", "[OPTIONS] " + upper + " [file|-]", about};
      Status s = CheckArgCount(usage, st->args.size(), 1, 2);
      if (s.ok()) {
        st->options.name = st->args[0];
        if (st->args.size() == 2) st->options.file = st->args[1];
        s = DataObjectCreate(ctx, kind, st->options);
      }
      ctx.SetResult(s);
    });
  }
  {
    auto opts = std::make_shared<SecretListOptions>();
    auto stray = std::make_shared<std::vector<std::string>>();
    const std::string about = absl::StrCat("List ", noun, "s");
    CLI::App* cmd = secret->add_subcommand("ls", about);
    cmd->alias("list");
    cmd->add_flag("-q,--quiet", opts->quiet, "Only display IDs");
    AddListOption(*cmd, "-f,--filter", opts->filters, "Filter output based on conditions provided");
    cmd->add_option("--format", opts->format,
                    absl::StrCat("Pretty-print ", noun, "s using a Go template"));
    AddStrayArgs(*cmd, *stray);
    cmd->callback([&ctx, &kind, opts, stray, noun, about] {
      Status s = CheckArgCount({noun + " ls", "[OPTIONS]", about}, stray->size(), 0, 0);
      ctx.SetResult(s.ok() ? DataObjectList(ctx, kind, *opts) : s);
    });
  }
  {
    auto opts = std::make_shared<SecretInspectOptions>();
    const std::string about =
        absl::StrCat("Display detailed information on one or more ", noun, "s");
    const std::string args = absl::StrCat(upper, " [", upper, "...]");
    CLI::App* cmd = secret->add_subcommand("inspect", about);
    cmd->add_flag("--pretty", opts->pretty, "Print the information in a human friendly format");
    cmd->add_option("names", opts->names, args);
    cmd->callback([&ctx, &kind, opts, noun, args, about] {
      const CommandUsage usage{noun + " inspect", "[OPTIONS] " + args, about};
      Status s = CheckArgCount(usage, opts->names.size(), 1, -1);
      ctx.SetResult(s.ok() ? DataObjectInspect(ctx, kind, *opts) : s);
    });
  }
  {
    auto names = std::make_shared<std::vector<std::string>>();
    const std::string about = absl::StrCat("Remove one or more ", noun, "s");
    const std::string args = absl::StrCat(upper, " [", upper, "...]");
    CLI::App* cmd = secret->add_subcommand("rm", about);
    cmd->alias("remove");
    cmd->add_option("names", *names, args);
    cmd->callback([&ctx, &kind, names, noun, args, about] {
      const CommandUsage usage{noun + " rm", args, about};
      Status s = CheckArgCount(usage, names->size(), 1, -1);
      ctx.SetResult(s.ok() ? DataObjectRemove(ctx, kind, *names) : s);
    });
  }
}

}  // namespace

void AddSecretCommands(CLI::App& root, CommandContext& ctx) {
  AddDataObjectCommands(root, ctx, kSecretKind);
  AddSecretVersionCommands(*root.get_subcommand("secret"), ctx);
}

void AddConfigCommands(CLI::App& root, CommandContext& ctx) {
  AddDataObjectCommands(root, ctx, kConfigKind);
}

}  // namespace capsule::cli
