#include "cli/app.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"

namespace capsule::cli {
namespace {

// "capsule secret ls" for the deepest subcommand the parser selected.
std::string SelectedPath(CLI::App& app) {
  std::string path = kProgramName;
  CLI::App* cur = &app;
  while (true) {
    std::vector<CLI::App*> subs = cur->get_subcommands();
    if (subs.empty()) return path;
    cur = subs.front();
    absl::StrAppend(&path, " ", cur->get_name());
  }
}

CLI::App* SelectedApp(CLI::App& app) {
  CLI::App* cur = &app;
  while (!cur->get_subcommands().empty()) cur = cur->get_subcommands().front();
  return cur;
}

}  // namespace

CLI::Option* AddListOption(CLI::App& cmd, const std::string& flags, std::vector<std::string>& into,
                           const std::string& description) {
  return cmd.add_option(flags, into, description)
      ->allow_extra_args(false)
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::Option* AddStrayArgs(CLI::App& cmd, std::vector<std::string>& into) {
  return cmd.add_option("args", into)->group("");
}

int RunCli(const std::vector<std::string>& args, CliIo io, const Clock& clock, EnvLookup env,
           SleepFn sleep) {
  CommandContext ctx(io, clock, std::move(env), std::move(sleep));
  CLI::App app{"A self-sufficient runtime for swarm-mode secrets", kProgramName};
  std::string host;
  app.add_option("-H,--host", host, "Daemon socket to connect to");
  AddSecretCommands(app, ctx);
  AddNetworkCommands(app, ctx);
  AddConfigCommands(app, ctx);
  AddNodeCommands(app, ctx);
  AddSwarmCommands(app, ctx);
  AddSystemCommands(app, ctx);
  AddServiceCommands(app, ctx);
  AddImageCommands(app, ctx);
  AddAuditCommands(app, ctx);
  app.parse_complete_callback([&ctx, &host] { ctx.set_host_flag(host); });

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::Success&) {  // -h/--help
    io.out << SelectedApp(app)->help();
    return 0;
  } catch (const CLI::ParseError& e) {
    io.err << e.what() << "\nSee '" << SelectedPath(app) << " --help'.\n";
    return 125;
  } catch (const std::exception& e) {
    // Third-party code (JSON, Asio) stops here at the latest.
    io.err << "Error: " << e.what() << "\n";
    return 1;
  }
  if (!ctx.ran()) {
    io.out << SelectedApp(app)->help();
    return 0;
  }
  if (ctx.result().ok()) return 0;
  // An empty message: the command said all it had to on stdout (`secret verify`).
  if (!ctx.result().message().empty()) io.err << ctx.result().message() << "\n";
  return ctx.flag_error() ? 125 : 1;
}

}  // namespace capsule::cli
